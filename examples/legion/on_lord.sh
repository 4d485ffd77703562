#!/bin/sh
# The `legion-lord` hook of examples/legion/run.sh: brood runs it (/bin/sh -c) when this member
# becomes lord, with BROOD_LEGION, BROOD_LEGION_EVENT and BROOD_LEGION_EPOCH in its environment.
# It prints one line (into DIR/story, which run.sh shows) with the epoch and how long the
# election took: since the start, or since the previous lord was killed (DIR/killed_at, written
# by run.sh).
#   on_lord.sh MEMBER DIR
member=$1 dir=$2
now=$(date +%s%3N)
if [ -f "$dir/killed_at" ]; then
  since=$(cat "$dir/killed_at") what="after the lord was killed"
else
  since=$(cat "$dir/started_at") what="after the members started"
fi
echo "legion: $member is the lord of legion $BROOD_LEGION (epoch $BROOD_LEGION_EPOCH)," \
  "$((now - since)) ms $what" >>"$dir/story"
