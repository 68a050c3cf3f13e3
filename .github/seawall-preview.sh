#!/usr/bin/env bash
# Build the pull-request comment: for every stack of the change, plan it with the base
# branch's seawall and with the change's, diff the two, and check the change's plan.
#
#   .github/seawall-preview.sh BASE_DIR BASE_SEAWALL HEAD_DIR HEAD_SEAWALL OUT.md
#
# Exit 0 when every check passes, 1 when a mandatory policy rule fails or a stack does not
# conform to its vendor document (the comment is still written), 3 when a change broadens a
# firewall and SEAWALL_FAIL_ON=broadening.
set -uo pipefail
base_dir=$1 base_seawall=$2 head_dir=$3 head_seawall=$4 out=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
{
  echo "<!-- seawall-preview -->"
  echo "## seawall: firewall changes in this pull request"
  echo
} > "$out"
for file in "$head_dir"/stacks/Pulumi.*.yaml; do
  stack=$(basename "$file" .yaml); stack=${stack#Pulumi.}
  if [ -f "$base_dir/stacks/Pulumi.$stack.yaml" ]; then
    (cd "$base_dir" && "$base_seawall" plan --stack "$stack" --format json) > "$work/$stack.base.json" 2> "$work/$stack.base.err" \
      || { echo "base plan of $stack failed: $(cat "$work/$stack.base.err")" >&2; printf '{"stack": "%s", "resources": []}\n' "$stack" > "$work/$stack.base.json"; }
  else
    printf '{"stack": "%s", "resources": []}\n' "$stack" > "$work/$stack.base.json"  # a new stack: everything is opened
  fi
  if ! (cd "$head_dir" && "$head_seawall" plan --stack "$stack" --format json) > "$work/$stack.head.json" 2> "$work/$stack.head.err"; then
    { echo "### seawall diff: \`$stack\`"; echo; echo '```'; cat "$work/$stack.head.err"; echo '```'; echo; } >> "$out"
    status=1
    continue
  fi
  (cd "$head_dir" && "$head_seawall" diff "$work/$stack.base.json" "$work/$stack.head.json" --format markdown ${SEAWALL_FAIL_ON:+--fail-on "$SEAWALL_FAIL_ON"}) >> "$out"
  code=$?
  if [ "$code" = 3 ] && [ "$status" = 0 ]; then status=3; fi
  (cd "$head_dir" && "$head_seawall" check --stack "$stack" --format markdown) >> "$out" || status=1
  echo >> "$out"
  # Conformance to the vendor's document, row by row: rows whose disposition changes are listed,
  # the rest is collapsed. A base branch without the command (or without the stack) has no report.
  (cd "$base_dir" && "$base_seawall" conformance --stack "$stack" --format json) > "$work/$stack.base.conformance.json" 2> /dev/null
  [ -s "$work/$stack.base.conformance.json" ] || printf '{"stack": "%s", "rows": []}\n' "$stack" > "$work/$stack.base.conformance.json"
  (cd "$head_dir" && "$head_seawall" conformance --stack "$stack" --format comment --base "$work/$stack.base.conformance.json") >> "$out" 2> "$work/$stack.conformance.err"
  case $? in
    0) ;;
    1) status=1 ;;  # a row's check failed, or a rule no row justifies
    *) { echo "#### seawall conformance: \`$stack\`: could not run"; echo; echo '```'; cat "$work/$stack.conformance.err"; echo '```'; } >> "$out"; status=1 ;;
  esac
  echo >> "$out"
done
exit "$status"
