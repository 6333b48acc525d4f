# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Camera transport benchmark: 640x480 rgb8 between two processes over localhost DDS.

    python benchmarks/bench_camera.py --seconds 60 --rate 30

A publisher process sends frames stamped with the wall clock (the ``sim_bridge_node`` QoS:
reliable, depth 10); this process subscribes, converts each message to numpy, and reports
the median / p95 latency and the number of lost frames. Targets: <= 5 ms median, none lost.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

PUBLISHER = r'''
import sys, time
import numpy as np
import rclpy
from sensor_msgs.msg import Image
from ego_reasoner_ros.nodes.conversions import image_to_msg
from ego_reasoner_ros.nodes.sim_bridge_node import IMAGE_QOS
rate, count = float(sys.argv[1]), int(sys.argv[2])
rclpy.init()
node = rclpy.create_node('bench_camera_pub')
pub = node.create_publisher(Image, 'bench/image_raw', IMAGE_QOS)
frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
while pub.get_subscription_count() == 0:
    time.sleep(0.05)
time.sleep(0.5)
t0 = time.monotonic()
for i in range(count):
    msg = image_to_msg(frame, stamp_ns=time.time_ns())
    msg.header.frame_id = str(i)
    pub.publish(msg)
    time.sleep(max(0.0, t0 + (i + 1) / rate - time.monotonic()))
time.sleep(1.0)
node.destroy_node()
rclpy.try_shutdown()
'''


def main() -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seconds', type=float, default=60.0)
    ap.add_argument('--rate', type=float, default=30.0)
    args = ap.parse_args()
    from ego_reasoner_ros.nodes.dds import confine_this_process
    env = confine_this_process('test')
    import rclpy
    from sensor_msgs.msg import Image

    from ego_reasoner_ros.nodes.conversions import msg_to_image, stamp_to_ns
    from ego_reasoner_ros.nodes.sim_bridge_node import IMAGE_QOS

    count = int(args.seconds * args.rate)
    rclpy.init()
    node = rclpy.create_node('bench_camera_sub')
    lat: list[float] = []
    seen: set[int] = set()

    def on_image(msg: Image) -> None:
        msg_to_image(msg)
        lat.append((time.time_ns() - stamp_to_ns(msg.header.stamp)) / 1e6)
        seen.add(int(msg.header.frame_id))

    node.create_subscription(Image, 'bench/image_raw', on_image, IMAGE_QOS)
    proc = subprocess.Popen([sys.executable, '-c', PUBLISHER, str(args.rate), str(count)],
                            env=env)
    try:
        while proc.poll() is None:
            rclpy.spin_once(node, timeout_sec=0.1)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        if proc.poll() is None:
            proc.terminate()
        node.destroy_node()
        rclpy.try_shutdown()
    lost = count - len(seen)
    print(f'frames: {count} sent at {args.rate:g} Hz, {len(seen)} received, {lost} lost')
    if lat:
        q = statistics.quantiles(lat, n=20)
        print(f'latency ms: median {statistics.median(lat):.2f}, p95 {q[18]:.2f}, '
              f'max {max(lat):.2f}')
    return 0 if proc.returncode == 0 else 1


if __name__ == '__main__':
    raise SystemExit(main())
