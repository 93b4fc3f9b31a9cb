# Scenario hang: a guest that never ends; lkvm's --timeout must stop it.
echo "lkvm-guest: hanging"
while :; do sleep 3600; done
