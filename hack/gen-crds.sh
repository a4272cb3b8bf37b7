#!/usr/bin/env bash
# hack/gen-crds.sh: generates cert-manager's CRDs into deploy/crds/ with controller-gen, from the
# API types of the cert-manager Go module at the version pinned in hack/versions.env.
#
#   hack/gen-crds.sh           regenerate deploy/crds/*.yaml
#   hack/gen-crds.sh --check   regenerate into a scratch folder and fail if deploy/crds differs
#
# How cert-manager itself does it (make/_shared_new/helm/crds.mk, target generate-crds, in the
# cert-manager module): `controller-gen crd paths=./<dir>/... output:crd:artifacts:config=<tmp>`
# over its source folders, with the controller-gen release pinned in make/_shared/tools/00_mod.mk,
# and the output copied unchanged to deploy/crds/ (the Helm chart then wraps each file in its own
# template header). cert-manager's type files carry, besides the markers controller-gen reads
# (+kubebuilder:..., +listType, +optional), markers only its other generators read (+genclient,
# +k8s:deepcopy-gen, +gencrdrefdocs, ...); controller-gen ignores those, and so do we: no
# post-processing. This script does the same run over the two API packages certcast needs
# (pkg/apis/certmanager/v1 and pkg/apis/acme/v1) and then checks that
#   1. each CRD has the status subresource and the printer columns that the +kubebuilder markers
#      above its Go type ask for, in that order, and
#   2. the result is byte-identical to the deploy/crds/ that cert-manager ships in the same module
#      version (true while CONTROLLER_TOOLS_VERSION is the release cert-manager pins).
#
# Why deploy/crds/ is committed rather than generated into the cache: the test environment then
# needs neither controller-gen nor the cert-manager module to start, a version bump shows up as a
# reviewable diff of the API, and `--check` (run by tests/integration/test_testenv.sh) proves the
# committed files are exactly what the pinned tools produce.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"

crds=(cert-manager.io_certificates cert-manager.io_certificaterequests cert-manager.io_issuers
	cert-manager.io_clusterissuers acme.cert-manager.io_orders acme.cert-manager.io_challenges)

die() { printf 'gen-crds: error: %s\n' "$*" >&2; exit 1; }

check_only=0
case ${1:-} in
"") ;;
--check) check_only=1 ;;
*) die "usage: $0 [--check]" ;;
esac

bin_dir=$("$root/hack/deps.sh" --bin-dir)
[ -x "$bin_dir/controller-gen" ] || "$root/hack/deps.sh" --go-tools >&2
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"

module=github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION
src=$(go mod download -json "$module" | jq -r '.Dir // empty')
[ -n "$src" ] && [ -d "$src" ] || die "cannot download $module"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The module cache is read-only; controller-gen loads the packages from a private copy.
cp -R "$src" "$work/cert-manager"
chmod -R u+w "$work/cert-manager"
(cd "$work/cert-manager" &&
	"$bin_dir/controller-gen" crd paths=./pkg/apis/certmanager/v1/... paths=./pkg/apis/acme/v1/... \
		output:crd:artifacts:config="$work/out")

fail=0
for c in "${crds[@]}"; do
	[ -f "$work/out/$c.yaml" ] || { echo "gen-crds: controller-gen produced no $c.yaml" >&2; fail=1; }
done
extra=$(cd "$work/out" && ls | grep -v -x -F -f <(printf '%s.yaml\n' "${crds[@]}") || true)
[ -z "$extra" ] || { echo "gen-crds: unexpected output: $extra" >&2; fail=1; }
[ $fail -eq 0 ] || exit 1

# markers_of DIR: for every Go type with a +kubebuilder:resource marker, one line
# "Kind status=yes|no columns=Name1,Name2,...", from the markers in the comments above the type
# (controller-gen also reads the marker block that a blank line separates from the doc comment).
markers_of() {
	cat "$1"/*.go | awk '
		/^\/\/ *\+/ { m = m "\n" $0; next }
		/^\/\// || /^[[:space:]]*$/ { next }
		/^type [A-Za-z0-9]+ struct/ {
			if (m ~ /\+kubebuilder:resource/) {
				st = (m ~ /\+kubebuilder:subresource:status/) ? "yes" : "no"
				cols = ""
				n = split(m, ls, "\n")
				for (i = 1; i <= n; i++) {
					if (ls[i] ~ /\+kubebuilder:printcolumn:/ && match(ls[i], /name="[^"]*"/)) {
						c = substr(ls[i], RSTART + 6, RLENGTH - 7)
						cols = cols (cols == "" ? "" : ",") c
					}
				}
				print $2, "status=" st, "columns=" cols
			}
			m = ""; next
		}
		{ m = "" }'
}

# generated_of FILE: the same line for a generated CRD (single-version CRDs, controller-gen layout).
generated_of() {
	awk '
		/^    kind: / && !kind { kind = $2 }
		/^  - additionalPrinterColumns:/ { incols = 1; next }
		incols && /^      name: / { cols = cols (cols == "" ? "" : ",") substr($0, 13) }
		/^    name: / { incols = 0 }
		/^    subresources:/ { insub = 1; next }
		insub && /^      status: \{\}/ { st = "yes" }
		END { print kind, "status=" (st ? st : "no"), "columns=" cols }' "$1"
}

want=$( (markers_of "$work/cert-manager/pkg/apis/certmanager/v1"; markers_of "$work/cert-manager/pkg/apis/acme/v1") | sort)
got=$(for c in "${crds[@]}"; do generated_of "$work/out/$c.yaml"; done | sort)
if [ "$want" != "$got" ]; then
	echo "gen-crds: generated CRDs do not match the markers in cert-manager's types:" >&2
	diff <(echo "$want") <(echo "$got") >&2 || true
	exit 1
fi
[ "$(grep -c 'status=yes' <<<"$got")" -eq 6 ] || die "expected the status subresource on all six CRDs"

for c in "${crds[@]}"; do
	if ! cmp -s "$work/out/$c.yaml" "$src/deploy/crds/$c.yaml"; then
		echo "gen-crds: $c.yaml differs from the one cert-manager $CERT_MANAGER_VERSION ships:" >&2
		diff -u "$src/deploy/crds/$c.yaml" "$work/out/$c.yaml" | head -n 40 >&2 || true
		fail=1
	fi
done
[ $fail -eq 0 ] || die "controller-gen $CONTROLLER_TOOLS_VERSION does not reproduce cert-manager's CRDs"

if [ $check_only -eq 1 ]; then
	for c in "${crds[@]}"; do
		cmp -s "$work/out/$c.yaml" "$root/deploy/crds/$c.yaml" ||
			{ echo "gen-crds: deploy/crds/$c.yaml is stale or missing; run hack/gen-crds.sh" >&2; fail=1; }
	done
	[ $fail -eq 0 ] || exit 1
	echo "gen-crds: deploy/crds matches controller-gen $CONTROLLER_TOOLS_VERSION on cert-manager $CERT_MANAGER_VERSION"
	exit 0
fi

mkdir -p "$root/deploy/crds"
for c in "${crds[@]}"; do cp "$work/out/$c.yaml" "$root/deploy/crds/$c.yaml"; done
printf '%s\n' "$got" | sed 's/^/gen-crds: /'
echo "gen-crds: wrote ${#crds[@]} CRDs to deploy/crds (cert-manager $CERT_MANAGER_VERSION, controller-gen $CONTROLLER_TOOLS_VERSION)"
