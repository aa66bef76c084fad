#!/usr/bin/env bash
# The national-sweep lab, modelled on ../shared/perf/up.sh: N dual-stack HTTPS sites spread
# over Z zones (gov.vn, edu.vn, com.vn and vn in turn) inside a network namespace of its own,
# all on 4 shared hosting addresses (10.99.0.1, 10.99.0.2, fd99::1, fd99::2: zone k on pair
# k mod 2), as thousands of small .vn sites share a few hosting servers. Each zone has its own
# name server address (fd98::1:k, on NSD) and its own wildcard certificate (nginx, by SNI).
# NSD answers the sweep's resolver on 127.0.0.1 with response-rate limiting at its default
# (200 qps), logging every block (verbosity 2), and counts queries (nsd-control stats). The
# zone perf.lab.gov.vn holds t0..t(N-1) on the same addresses for the performance floor
# (../shared/perf/floor), which reads DIR/n and DIR/root.pem as in the shared lab.
# Usage: scripts/national-lab-up.sh N Z [DIR]; scripts/national-lab-down.sh [DIR]. Needs root.
set -euo pipefail
N=${1:-100000}
Z=${2:-1000}
DIR=${3:-${NATIONAL_DIR:-/tmp/vnnational}}
NS=vnnational
need() { command -v "$1" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need nsd nsd; need nginx nginx-light; need /usr/bin/time time; need curl curl
[[ -f $DIR/up ]] && { echo "national lab already up in $DIR"; exit 0; }
mkdir -p "$DIR"/{pki,dns,nginx,logs,www}
cd "$DIR"
ip netns add $NS
ip netns exec $NS ip link set lo up
mkdir -p /etc/netns/$NS && echo "nameserver 127.0.0.1" > /etc/netns/$NS/resolv.conf
{
  for a in 10.99.0.1/32 10.99.0.2/32 fd99::1/128 fd99::2/128; do echo "address add $a dev lo"; done
  for ((k = 0; k < Z; k++)); do printf "address add fd98::1:%x/128 dev lo\n" "$k"; done
} | ip netns exec $NS ip -batch -

o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pki/root.key -out pki/root.pem -days 3650 \
  -subj "/CN=VN National Lab Root" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
cp pki/root.pem root.pem
# One EC key for every leaf (the lab measures the prober, not key generation); a certificate per zone.
o ecparam -name prime256v1 -genkey -noout -out pki/site.key
python3 - "$N" "$Z" "$DIR" <<'PY'
import os, subprocess, sys
n, z, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
suffixes = ["gov.vn", "edu.vn", "com.vn", "vn"]
zones = [f"z{k}.{suffixes[k % 4]}" for k in range(z)]
web = [("10.99.0.1", "fd99::1"), ("10.99.0.2", "fd99::2")]
# Sites interleaved across zones, as a national list mixes registries and hosts.
hosts = [[] for _ in range(z)]
with open(f"{d}/targets.txt", "w") as out:
    out.write("# national lab: one site per line\n")
    for i in range(n):
        k = i % z
        host = f"s{i // z}.{zones[k]}"
        hosts[k].append(host)
        out.write(f"https://{host}/ province=P{k % 34:02d}\n")
zonelist = []
for k, zone in enumerate(zones):
    v4, v6 = web[k % 2]
    lines = [f"$ORIGIN {zone}.", "$TTL 3600", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300", "@ IN NS ns1",
             f"ns1 IN AAAA fd98::1:{k:x}", f"@ IN A {v4}", f"@ IN AAAA {v6}"]
    for host in hosts[k]:
        label = host[: -len(zone) - 1]
        lines += [f"{label} IN A {v4}", f"{label} IN AAAA {v6}"]
    open(f"{d}/dns/{zone}.zone", "w").write("\n".join(lines) + "\n")
    zonelist.append(zone)
# The registries' zones, delegating each lab zone, so questions that climb to the parent
# (CAA, the apex walk) get real answers instead of REFUSED.
for parent in suffixes:
    lines = [f"$ORIGIN {parent}.", "$TTL 3600", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300", "@ IN NS ns1",
             "ns1 IN A 127.0.0.1", "ns1 IN AAAA ::1"]
    for k, zone in enumerate(zones):
        if zone.endswith("." + parent) and zone.count(".") == parent.count(".") + 1:
            label = zone[: -len(parent) - 1]
            lines += [f"{label} IN NS ns1.{zone}.", f"ns1.{label} IN AAAA fd98::1:{k:x}"]
    open(f"{d}/dns/{parent}.zone", "w").write("\n".join(lines) + "\n")
    zonelist.append(parent)
# The floor's zone: t0..t(n-1), spread over the same shared addresses.
lines = ["$ORIGIN perf.lab.gov.vn.", "$TTL 3600", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300", "@ IN NS ns1",
         "ns1 IN A 127.0.0.1", "ns1 IN AAAA ::1"]
for i in range(n):
    v4, v6 = web[i % 2]
    lines += [f"t{i} IN A {v4}", f"t{i} IN AAAA {v6}"]
open(f"{d}/dns/perf.lab.gov.vn.zone", "w").write("\n".join(lines) + "\n")
zonelist.append("perf.lab.gov.vn")
conf = [
    "server:", "  ip-address: 127.0.0.1@53", "  ip-address: ::1@53",
] + [f"  ip-address: fd98::1:{k:x}@53" for k in range(z)] + [
    f'  zonesdir: "{d}/dns"', f'  pidfile: "{d}/dns/nsd.pid"', '  database: ""', '  username: ""',
    f'  xfrdfile: "{d}/dns/xfrd.state"', f'  zonelistfile: "{d}/dns/zone.list"', f'  logfile: "{d}/logs/nsd.log"',
    "  server-count: 1", "  verbosity: 2", "  rrl-ratelimit: 200",
    "remote-control:", "  control-enable: yes", f'  control-interface: "{d}/dns/nsd.ctl"',
]
for zone in zonelist:
    conf += ["zone:", f"  name: {zone}", f"  zonefile: {zone}.zone"]
open(f"{d}/dns/nsd.conf", "w").write("\n".join(conf) + "\n")
# Certificates: one per zone (and one for the floor's zone), signed by the lab root.
names = zones + ["perf.lab.gov.vn"]
servers = []
for index, zone in enumerate(names):
    ext = f"{d}/pki/{index}.ext"
    open(ext, "w").write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                         f"subjectAltName=DNS:*.{zone},DNS:{zone}\n")
    subprocess.run(["openssl", "req", "-new", "-key", f"{d}/pki/site.key", "-out", f"{d}/pki/{index}.csr",
                    "-subj", f"/CN=*.{zone}"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", f"{d}/pki/{index}.csr", "-CA", f"{d}/pki/root.pem",
                    "-CAkey", f"{d}/pki/root.key", "-CAcreateserial", "-out", f"{d}/pki/{index}.crt",
                    "-days", "90", "-extfile", ext], check=True, capture_output=True)
    os.remove(f"{d}/pki/{index}.csr")
    servers.append(f"  server {{ listen 10.99.0.1:443 ssl; listen 10.99.0.2:443 ssl; listen [fd99::1]:443 ssl; listen [fd99::2]:443 ssl;\n"
                   f"    server_name {zone} *.{zone}; ssl_certificate {d}/pki/{index}.crt; ssl_certificate_key {d}/pki/site.key; root {d}/www;\n"
                   "    add_header Strict-Transport-Security \"max-age=31536000\" always; }")
nginx = f"""worker_processes 2;
pid {d}/nginx/nginx.pid;
error_log {d}/logs/nginx-error.log;
worker_rlimit_nofile 16384;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {d}/nginx; proxy_temp_path {d}/nginx; fastcgi_temp_path {d}/nginx; uwsgi_temp_path {d}/nginx; scgi_temp_path {d}/nginx;
  default_type text/html;
  ssl_protocols TLSv1.2 TLSv1.3;
  server_names_hash_max_size 8192; server_names_hash_bucket_size 128;
  server {{ listen 10.99.0.1:80; listen 10.99.0.2:80; listen [fd99::1]:80; listen [fd99::2]:80; server_name _; return 301 https://$host$request_uri; }}
  server {{ listen 127.0.0.1:8080; location /status {{ stub_status; }} }}
{chr(10).join(servers)}
}}
"""
open(f"{d}/nginx/nginx.conf", "w").write(nginx)
PY
echo '<html><head><title>Cổng thông tin</title></head><body><h1>Trang chủ</h1><p>Nội dung.</p></body></html>' > www/index.html
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ip netns exec $NS nsd -c dns/nsd.conf
ip netns exec $NS nginx -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx"
for _ in $(seq 100); do
  ip netns exec $NS nsd-control -c dns/nsd.conf status >/dev/null 2>&1 && break
  sleep 0.2
done
echo "$N" > n
echo "$Z" > zones
touch up
echo "national lab up: $N sites over $Z zones on 4 shared addresses in netns $NS ($DIR)"
