"""Drive headless Firefox over WebDriver BiDi (its built-in remote protocol),
with nothing but the Python standard library: no geckodriver, no selenium.

Used by tests/t_firefox.sh. Usage:

  firefox_bidi.py FIREFOX PROFILE_DIR URL OUT_PNG W H SETUP_JS POLL_JS WANT [SECONDS]

Starts FIREFOX --headless with a fresh profile in PROFILE_DIR (fake camera
and no permission prompt, see PREFS), opens URL at a W x H viewport, runs
SETUP_JS once the page has loaded, then evaluates POLL_JS (an expression
giving a string) every 0.25 s until it contains WANT or SECONDS pass, saves a
screenshot to OUT_PNG and prints "SECONDS s: <last POLL_JS value>".
Exit status 0 when WANT was seen, 1 when not, 2 on a protocol error.
"""
import base64, json, os, re, socket, struct, subprocess, sys, time

PREFS = {
    # getUserMedia gives Firefox's synthetic test video instead of a device,
    # without asking.
    'media.navigator.streams.fake': True,
    'media.navigator.permission.disabled': True,
    # a quiet, offline profile
    'browser.shell.checkDefaultBrowser': False,
    'datareporting.policy.dataSubmissionEnabled': False,
    'toolkit.telemetry.reportingpolicy.firstRun': False,
    'app.update.disabledForTesting': True,
    'browser.startup.homepage_override.mstone': 'ignore',
}


class WebSocket:
    """A client for one RFC 6455 text-message connection (what BiDi needs)."""

    def __init__(self, host, port, path):
        self.s = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        # no Origin header: Firefox's remote agent refuses requests that carry one
        req = (f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n'
               f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n')
        self.s.sendall(req.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.s.recv(4096)
            if not chunk:
                raise ConnectionError('websocket handshake: connection closed')
            head += chunk
        head, self.buf = head.split(b'\r\n\r\n', 1)
        if b' 101 ' not in head.split(b'\r\n')[0]:
            raise ConnectionError('websocket handshake refused: ' + head.split(b'\r\n')[0].decode())

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError('websocket closed')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        n = len(data)
        head = bytes([0x81])   # FIN, text
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack('>H', n)
        else:
            head += bytes([0x80 | 127]) + struct.pack('>Q', n)
        mask = os.urandom(4)
        self.s.sendall(head + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(data)))

    def recv(self):
        msg = b''
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack('>H', self._read(2))[0]
            elif n == 127:
                n = struct.unpack('>Q', self._read(8))[0]
            payload = self._read(n)   # server frames are not masked
            op = b0 & 0x0f
            if op == 8:
                raise ConnectionError('websocket closed by Firefox')
            if op in (9, 10):         # ping/pong: ignore
                continue
            msg += payload
            if b0 & 0x80:
                return msg.decode()


class BiDi:
    def __init__(self, ws):
        self.ws, self.n = ws, 0

    def __call__(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({'id': self.n, 'method': method, 'params': params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get('id') != self.n:
                continue              # an event
            if m.get('type') == 'error':
                raise RuntimeError(f'{method}: {m.get("error")}: {m.get("message")}')
            return m['result']

    def eval(self, ctx, js):
        r = self('script.evaluate', expression=js, target={'context': ctx}, awaitPromise=True)
        if r.get('type') == 'exception':
            raise RuntimeError('script: ' + json.dumps(r.get('exceptionDetails', {}).get('text', r)))
        return r['result'].get('value', '')


def main():
    firefox, profile, url, shot, w, h, setup_js, poll_js, want = sys.argv[1:10]
    limit = float(sys.argv[10]) if len(sys.argv) > 10 else 25
    os.makedirs(profile, exist_ok=True)
    with open(os.path.join(profile, 'user.js'), 'w') as f:
        for k, v in PREFS.items():
            f.write(f'user_pref("{k}", {json.dumps(v)});\n')
    err = open(os.path.join(profile, 'firefox.err'), 'w+')
    p = subprocess.Popen([firefox, '--headless', '--no-remote', '--profile', profile,
                          '--remote-debugging-port', '0', 'about:blank'],
                         stdout=subprocess.DEVNULL, stderr=err)
    try:
        # Firefox prints "WebDriver BiDi listening on ws://127.0.0.1:PORT"
        port, t0 = None, time.time()
        while port is None and time.time() - t0 < 30:
            if p.poll() is not None:
                raise RuntimeError('firefox exited with status %d' % p.returncode)
            err.seek(0)
            m = re.search(r'WebDriver BiDi listening on ws://[^:]+:(\d+)', err.read())
            port = int(m.group(1)) if m else None
            time.sleep(0.1)
        if port is None:
            raise RuntimeError('firefox did not start its remote agent in 30 s')
        bidi = BiDi(WebSocket('127.0.0.1', port, '/session'))
        bidi('session.new', capabilities={})
        ctx = bidi('browsingContext.getTree')['contexts'][0]['context']
        bidi('browsingContext.setViewport', context=ctx, viewport={'width': int(w), 'height': int(h)})
        bidi('browsingContext.navigate', context=ctx, url=url, wait='complete')
        if setup_js:
            bidi.eval(ctx, setup_js)
        t0, val = time.time(), ''
        while time.time() - t0 < limit:
            val = str(bidi.eval(ctx, poll_js))
            if want in val:
                break
            time.sleep(0.25)
        time.sleep(0.5)               # one more frame drawn
        val = str(bidi.eval(ctx, poll_js))
        png = bidi('browsingContext.captureScreenshot', context=ctx)['data']
        with open(shot, 'wb') as f:
            f.write(base64.b64decode(png))
        print(f'{time.time() - t0:.1f} s: {val}')
        try:
            bidi('browser.close')
        except (RuntimeError, ConnectionError):
            pass
        return 0 if want in val else 1
    except (RuntimeError, OSError) as e:   # ConnectionError is an OSError
        err.seek(0)
        tail = [l for l in err.read().splitlines() if l.strip()][-3:]
        print(f'error: {e}; firefox stderr: {" / ".join(tail)}')
        return 2
    finally:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


if __name__ == '__main__':
    sys.exit(main())
