# Sourced by the CLI smoke tests (after they set $dir and define fail): runs a command that must
# fail with the given exit code and a one-line message containing the fragment (a grep pattern),
# never a crash or a stack trace.
expect_error() {  # expect_error <exit code> <message fragment> -- command...
  local code="$1" msg="$2"; shift 3
  set +e; "$@" > /dev/null 2> "$dir/err"; local rc=$?; set -e
  [ "$rc" -eq "$code" ] || fail "'$*' exited $rc, expected $code"
  grep -q -- "$msg" "$dir/err" || fail "'$*' error lacks '$msg': $(cat "$dir/err")"
  ! grep -qi "terminate called\\|stack" "$dir/err" || fail "'$*' crashed"
}
