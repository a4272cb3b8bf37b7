/* sim_rand: splitmix64-based counter hashing; see sim_rand.h for why draws are stateless. */
#include "sim_rand.h"

#include <math.h>

static uint64_t
rn_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t
rn_hash(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
	uint64_t h = rn_mix(seed);
	h = rn_mix(h ^ stream);
	h = rn_mix(h ^ a);
	return rn_mix(h ^ b);
}

/* 53 high bits make every double in [0, 1) on a 2^-53 grid equally likely. */
static double
rn_to_unit(uint64_t h)
{
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

double
rn_unit(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
	return rn_to_unit(rn_hash(seed, stream, a, b));
}

void
rn_seq_init(struct rn_seq *q, uint64_t seed, uint64_t stream, uint64_t a)
{
	q->q_state = rn_hash(seed, stream, a, 0);
}

double
rn_seq_unit(struct rn_seq *q)
{
	q->q_state += 0x9e3779b97f4a7c15ULL;
	return rn_to_unit(rn_mix(q->q_state));
}

double
rn_seq_exp(struct rn_seq *q, double mean)
{
	/* 1 - u lies in (0, 1], so the log is finite. */
	return -mean * log(1.0 - rn_seq_unit(q));
}
