# Command substitutions inside arithmetic run too.
timer_precmd() {
  if [ $(( $(perl -MTime::HiRes=time -e 'printf "%d\n", time') - $timer_start )) -gt 10 ]; then
    PROMPT="slow "
  fi
}
