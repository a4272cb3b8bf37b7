/*
 * sim_main: the `certcast simulate` command.
 *
 *   certcast simulate [--policy NAME]... [--no-observe] [--compact] [-o FILE] SCENARIO.yaml
 *
 * argv[0] is the command's own name ("simulate"); options follow. Prints the JSON summary
 * (sim_report) to stdout or FILE. Exit codes: 0 when every expectation of the scenario held,
 * 3 when at least one failed, 2 for a usage error, 1 when the scenario cannot be loaded or run.
 * Uses no global option state (no getopt), so it can be called more than once in a process.
 */
#ifndef SIM_MAIN_H
#define SIM_MAIN_H

int sim_main(int argc, char **argv);

#endif
