#!/usr/bin/env bash
# Stops the national lab (scripts/national-lab-up.sh) and removes its namespace and files.
DIR=${1:-${NATIONAL_DIR:-/tmp/vnnational}}
for f in dns/nsd.pid nginx/nginx.pid; do [[ -f $DIR/$f ]] && kill "$(cat "$DIR/$f")" 2>/dev/null; done
sleep 0.5
ip netns del vnnational 2>/dev/null
rm -rf /etc/netns/vnnational "$DIR"
echo "national lab down"
