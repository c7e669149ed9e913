#!/usr/bin/python3
"""An independent WHIP publisher (RFC 9725) on aiortc (Debian python3-aiortc),
not Sigma's code and not the Go-live page: posts an offer with a Bearer
token, sets the answer, sends a moving test picture (H.264) and a tone
(Opus) for SECONDS, then DELETEs the session unless --no-delete.

  whip_client.py URL --key KEY [--seconds S] [--codec h264|vp8] [--no-delete] [--cycles N]

--cycles N publishes and stops N times in a row (the leak test).

Prints one JSON line: status, location, the error body if refused, the
connection state reached, frames sent. Exit 0 when the server answered 201
and the connection was established, 1 otherwise, 2 on usage errors.
"""
import argparse
import asyncio
import fractions
import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import av
import numpy
from aiortc import RTCPeerConnection, RTCSessionDescription, RTCRtpSender
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack


class Picture(VideoStreamTrack):
    def __init__(self, width, height):
        super().__init__()
        self.width, self.height, self.frames = width, height, 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        img = numpy.zeros((self.height, self.width, 3), numpy.uint8)
        x = (self.frames * 8) % self.width
        img[:, max(0, x - 40):x, :] = 255
        img[: self.height // 4, :, 1] = (self.frames * 3) % 256
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


class Tone(AudioStreamTrack):
    """A 440 Hz tone, 20 ms frames at 48 kHz, paced in real time."""

    def __init__(self):
        super().__init__()
        self.sent = 0
        self.start = None

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.sent / 48000.0 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        n = 960
        t = (numpy.arange(n) + self.sent) / 48000.0
        tone = (numpy.sin(2 * math.pi * 440 * t) * 8000).astype(numpy.int16)
        out = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        out.sample_rate, out.pts, out.time_base = 48000, self.sent, fractions.Fraction(1, 48000)
        self.sent += n
        return out


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


async def main(a):
    out = {"status": None}
    pc = RTCPeerConnection()
    video = Picture(*map(int, a.size.split("x")))
    tv = pc.addTransceiver(video, direction="sendonly")
    pc.addTransceiver(Tone(), direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    want = [c for c in caps if c.mimeType.lower() == "video/" + a.codec]
    tv.setCodecPreferences(want + [c for c in caps if c.mimeType.lower() == "video/rtx"] if a.codec == "vp8" else want)
    state = {"connected": False}

    @pc.on("connectionstatechange")
    def _():
        out["state"] = pc.connectionState
        if pc.connectionState == "connected":
            state["connected"] = True

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if a.key:
        headers["Authorization"] = "Bearer " + a.key
    loop = asyncio.get_running_loop()
    status, hdrs, body = await loop.run_in_executor(
        None, lambda: http("POST", a.url, pc.localDescription.sdp.encode(), headers))
    out["status"] = status
    if status != 201:
        out["error"] = body.strip()
        await pc.close()
        return out, False
    loc = urllib.parse.urljoin(a.url, hdrs.get("Location", ""))
    out["location"] = urllib.parse.urlparse(loc).path
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    deadline = time.monotonic() + 10
    while not state["connected"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    end = time.monotonic() + a.seconds
    while time.monotonic() < end and pc.connectionState not in ("failed", "closed"):
        await asyncio.sleep(0.1)
    out["frames"] = video.frames
    if not a.no_delete:
        st, _, _ = await loop.run_in_executor(None, lambda: http("DELETE", loc))
        out["delete"] = st
    await pc.close()
    return out, state["connected"]


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--key", default="")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--codec", default="h264", choices=["h264", "vp8"])
    p.add_argument("--size", default="640x360")
    p.add_argument("--no-delete", action="store_true")
    p.add_argument("--cycles", type=int, default=1)
    args = p.parse_args()

    async def cycles():
        results = []
        for _ in range(args.cycles):
            results.append(await main(args))
            if not results[-1][1]:
                break
        return results

    runs = asyncio.run(cycles())
    result, ok = runs[-1]
    if args.cycles > 1:
        result["cycles"] = sum(1 for _, good in runs if good)
    print(json.dumps(result))
    sys.exit(0 if ok and len(runs) == args.cycles else 1)
