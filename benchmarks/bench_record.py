# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Recording benchmark: is the recorder node lossless at camera rate.

One process publishes a 30 Hz 640x480 rgb8 camera, camera_info at the same rate and the step
topics (task, thought, action, result, status at a few Hz); the recorder node records them in
another process. Afterwards the bag is read back and the published count of every topic is
compared with the recorded count. DDS stays on localhost (shipped Fast DDS profile, a free
ROS domain id). The last stdout line is one JSON object::

    {"seconds", "topics": {topic: {"published", "recorded"}}, "dropped", "mb_per_s",
     "bag_mb", "files", "recorder_cpu_s", ...}

Usage::

    python benchmarks/bench_record.py [--seconds 600] [--rate 30] [--width 640 --height 480]
        [--compression zstd|lz4|none] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = Path(__file__).resolve().parents[1]
STEP_TOPICS = ('task', 'reasoner/thought', 'reasoner/action', 'executor/result',
               'reasoner/status')


def publish(args: argparse.Namespace) -> int:
    """Publisher role: publish for ``--seconds``, then print the published counts."""
    import numpy as np
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    rclpy.init()
    node = rclpy.create_node('bench_publisher')
    # a writer keeps only its last `depth` samples for a reliable reader: 100 frames (3.3 s
    # at 30 Hz) so a recorder stalled by a busy CPU catches up instead of losing frames
    image_qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    json_qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    pub_img = node.create_publisher(Image, 'camera/image_raw', image_qos)
    pub_info = node.create_publisher(CameraInfo, 'camera/camera_info', image_qos)
    pubs = {t: node.create_publisher(String, t, json_qos) for t in STEP_TOPICS}
    deadline = time.monotonic() + 30
    everything = [pub_img, pub_info, *pubs.values()]
    while any(p.get_subscription_count() == 0 for p in everything):
        if time.monotonic() > deadline:
            print(json.dumps({'error': 'recorder never subscribed'}), flush=True)
            return 1
        time.sleep(0.05)
    time.sleep(0.5)  # let discovery settle on both sides

    h, w = args.height, args.width
    base = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    counts = {'camera/image_raw': 0, 'camera/camera_info': 0, **{t: 0 for t in STEP_TOPICS}}
    period = 1.0 / args.rate
    start = time.monotonic()
    next_t = start
    k = 0
    while time.monotonic() - start < args.seconds:
        stamp = time.time_ns()
        img = Image()
        img.header.stamp.sec, img.header.stamp.nanosec = stamp // 10**9, stamp % 10**9
        img.header.frame_id = 'camera'
        img.height, img.width, img.encoding, img.step = h, w, 'rgb8', w * 3
        base[k % h, :, :] = k % 255  # a changing row, so frames differ
        img.data = base.tobytes()
        pub_img.publish(img)
        counts['camera/image_raw'] += 1
        info = CameraInfo()
        info.header = img.header
        info.height, info.width = h, w
        pub_info.publish(info)
        counts['camera/camera_info'] += 1
        if k % max(1, int(args.rate // args.step_rate)) == 0:
            for topic, pub in pubs.items():
                msg = String()
                msg.data = json.dumps({'task_id': 'bench', 'action_id': f'bench/{k}',
                                       'step': k, 'topic': topic, 'pad': 'x' * 200})
                pub.publish(msg)
                counts[topic] += 1
        k += 1
        next_t += period
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - start
    time.sleep(1.0)  # reliable delivery of the tail
    print(json.dumps({'published': counts, 'seconds': round(elapsed, 3)}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def run(args: argparse.Namespace) -> dict:
    """Start recorder and publisher, stop the recorder, compare counts."""
    sys.path.insert(0, str(REPO))
    from ego_reasoner_ros.nodes import dds
    from ego_reasoner_ros.runtime import bagio

    domain = dds.choose_domain_id()
    env = dds.localhost_env(domain, mode='test')
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
    out_root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix='bench_record_'))
    bag = out_root / 'bench_bag'
    if bag.exists():
        shutil.rmtree(bag)
    rec_cmd = [sys.executable, '-m', 'ego_reasoner_ros.nodes.recorder_node', '--ros-args',
               '-p', f'out_dir:={out_root}', '-p', 'bag_name:=bench_bag',
               '-p', f'compression:={args.compression}',
               '-p', f'max_file_size_mb:={args.max_file_size_mb}',
               '-p', 'stats_period_s:=30.0']
    try:
        rec = subprocess.Popen(rec_cmd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        pub_cmd = [sys.executable, str(Path(__file__).resolve()), '--role', 'publisher',
                   '--seconds', str(args.seconds), '--rate', str(args.rate),
                   '--width', str(args.width), '--height', str(args.height),
                   '--step-rate', str(args.step_rate)]
        pub = subprocess.run(pub_cmd, env=env, capture_output=True, text=True,
                             timeout=args.seconds + 120)
        published_line = pub.stdout.strip().splitlines()[-1] if pub.stdout.strip() else '{}'
        published = json.loads(published_line)
        if 'published' not in published:
            raise RuntimeError(f'publisher failed: {pub.stdout[-2000:]} {pub.stderr[-2000:]}')
        if args.stop == 'sigkill':
            time.sleep(2.0)  # > chunk_duration_s: the idle chunk is on disk by now
        rec.send_signal({'sigint': signal.SIGINT, 'sigterm': signal.SIGTERM,
                         'sigkill': signal.SIGKILL}[args.stop])
        rec_out, _ = rec.communicate(timeout=120)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        dds.release_domain_id(domain)
    recorded: dict[str, int] = {}
    scans: list[bagio.FileScan] = []
    for msg in bagio.iter_bag_messages(bag, scans=scans):
        name = msg.topic.lstrip('/')
        recorded[name] = recorded.get(name, 0) + 1
    size = sum(f.stat().st_size for f in bag.glob('*.mcap'))
    topics = {t: {'published': n, 'recorded': recorded.get(t, 0)}
              for t, n in published['published'].items()}
    dropped = sum(max(0, v['published'] - v['recorded']) for v in topics.values())
    seconds = published['seconds']
    result = {
        'seconds': seconds, 'rate_hz': args.rate, 'image': f'{args.width}x{args.height} rgb8',
        'compression': args.compression, 'stop': args.stop, 'topics': topics, 'dropped': dropped,
        'recorded_total': sum(recorded.values()),
        'mb_per_s_raw': round(args.width * args.height * 3 * topics['camera/image_raw']
                              ['recorded'] / seconds / 1e6, 2),
        'bag_mb': round(size / 1e6, 1), 'mb_per_s_on_disk': round(size / seconds / 1e6, 2),
        'files': len(scans), 'clean_close': all(s.complete for s in scans)
        and (bag / 'metadata.yaml').is_file(),
        'recorder_exit': rec.returncode,
        'children_cpu_s': round(usage.ru_utime + usage.ru_stime, 1),
    }
    closed = [ln.split('bag closed: ', 1)[1] for ln in rec_out.splitlines()
              if 'bag closed: ' in ln]
    if closed:  # what the middleware reported lost before the recorder saw it
        result['recorder_lost'] = json.loads(closed[-1]).get('lost', {})
    if rec.returncode != 0 and args.stop != 'sigkill':
        result['recorder_log_tail'] = rec_out[-1500:]
    if not args.keep and not args.out:
        shutil.rmtree(out_root, ignore_errors=True)
    else:
        result['bag'] = str(bag)
    return result


def main(argv: list[str] | None = None) -> int:
    """Benchmark entry point."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seconds', type=float, default=60.0)
    ap.add_argument('--rate', type=float, default=30.0, help='camera rate (Hz)')
    ap.add_argument('--step-rate', type=float, default=2.0, help='step topics rate (Hz)')
    ap.add_argument('--width', type=int, default=640)
    ap.add_argument('--height', type=int, default=480)
    ap.add_argument('--compression', default='zstd', choices=['none', 'zstd', 'lz4'])
    ap.add_argument('--max-file-size-mb', type=float, default=0.0)
    ap.add_argument('--stop', default='sigint', choices=['sigint', 'sigterm', 'sigkill'],
                    help='how the recorder is stopped (sigkill: no clean close)')
    ap.add_argument('--out', default=None, help='keep the bag under this folder')
    ap.add_argument('--keep', action='store_true', help='keep the temporary bag')
    ap.add_argument('--role', default='main', choices=['main', 'publisher'],
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.role == 'publisher':
        return publish(args)
    result = run(args)
    print(json.dumps(result), flush=True)
    return 0 if result['dropped'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
