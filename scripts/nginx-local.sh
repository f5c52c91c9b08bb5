# Sourced by the benchmark scripts: an nginx of their own on loopback, serving a folder.
# start_nginx DIR PORT ROOT: its config, pid and logs under DIR, serving ROOT on
# 127.0.0.1:PORT with keep-alive for as many requests as a run sends; $NGINX is the binary.
start_nginx() {
    local dir=$1 port=$2 root=$3 user_line=""
    mkdir -p "$dir/logs"
    # As root, nginx's workers would drop to nobody and lose read access to ROOT.
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server { listen 127.0.0.1:$port; root $root; }
}
CONF
    "$NGINX" -p "$dir" -c "$dir/nginx.conf"
}
