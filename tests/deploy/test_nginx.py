"""https behind nginx, for real: deploy/nginx/forumsync.conf passes `nginx -t`, then a
throwaway nginx (ports and certificate swapped for test ones) proxies https to forumsync's web
app: the French login page and the webhook endpoint answer through it."""
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from forumsync.app import create_app
from tests.deploy.guide import DEPLOY
from tests.fixtures.database import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not Path(NGINX).exists() or not shutil.which("openssl"),
                                reason="nginx ou openssl absent (apt-get install nginx-light openssl)")


def prepared(tmp_path, http_port=80, https_port=443, upstream=5000) -> Path:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=forumsync.example.org",
                    # the test connects to 127.0.0.1 and checks the certificate: it must name it
                    "-addext", "subjectAltName=DNS:forumsync.example.org,IP:127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "nginx" / "forumsync.conf").read_text(encoding="utf-8")
    site = (site.replace("/etc/letsencrypt/live/forumsync.example.org/fullchain.pem", str(tmp_path / "cert.pem"))
                .replace("/etc/letsencrypt/live/forumsync.example.org/privkey.pem", str(tmp_path / "key.pem"))
                .replace("/var/www/letsencrypt", str(tmp_path))
                .replace("listen 80;", f"listen 127.0.0.1:{http_port};").replace("listen [::]:80;", "")
                .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
                .replace("listen [::]:443 ssl http2;", "")
                .replace("http://127.0.0.1:5000", f"http://127.0.0.1:{upstream}"))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
daemon off;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
""", encoding="utf-8")
    return conf


def test_site_config_passes_nginx_t(tmp_path):
    conf = prepared(tmp_path)
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_https_reaches_forumsync_through_nginx(tmp_path, context, serve_app):
    served = serve_app(create_app(context=context))
    upstream = int(served.url.rsplit(":", 1)[1])
    http_port, https_port = free_port(), free_port()
    conf = prepared(tmp_path, http_port, https_port, upstream)
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        base = f"https://127.0.0.1:{https_port}"
        deadline = time.monotonic() + 60  # nginx starting on a loaded machine
        while True:
            try:
                login = requests.get(base + "/connexion", verify=str(tmp_path / "cert.pem"), timeout=5,
                                     headers={"Host": "forumsync.example.org"})
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or nginx.poll() is not None:
                    raise AssertionError((tmp_path / "error.log").read_text()[-2000:])
                time.sleep(0.2)
        assert login.status_code == 200 and "Connexion" in login.text
        assert login.headers.get("Strict-Transport-Security") == "max-age=31536000"
        hook = requests.post(base + "/webhooks/discourse", data=b"{}", verify=str(tmp_path / "cert.pem"), timeout=5,
                             headers={"Host": "forumsync.example.org", "X-Discourse-Event": "ping"})
        assert hook.status_code == 401  # forumsync itself answers: no valid signature
        plain = requests.get(f"http://127.0.0.1:{http_port}/", allow_redirects=False, timeout=5,
                             headers={"Host": "forumsync.example.org"})
        assert plain.status_code == 301 and plain.headers["Location"] == "https://forumsync.example.org/"
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
