#!/bin/sh
# script= of migrate.bats's NIC, run by lkvm with its new tap's name:
# bring the tap up, and note which lkvm made it (tap.PID in the run's
# directory), for migrate-driver.sh to send to the guest through the tap
# of the lkvm that runs it.
ip link set "$1" up && echo "$1" >"tap.$PPID"
