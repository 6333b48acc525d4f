# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ament_python package setup for ego_reasoner_ros."""

from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'ego_reasoner_ros'
version = '0.1.0'


def _subpackages(folder: str, namespace: str) -> list[str]:
    """Return ``namespace`` plus its subpackages found under ``folder``."""
    found = find_packages(where=folder)
    return [namespace] + [f'{namespace}.{name}' for name in found]


def _data_tree(src: str, dest_root: str) -> list[tuple[str, list[str]]]:
    """Map every file below ``src`` to the same relative path under ``dest_root``."""
    entries = []
    for dirpath, _dirs, files in os.walk(src):
        if files:
            entries.append((os.path.join(dest_root, dirpath),
                            [os.path.join(dirpath, f) for f in files]))
    return entries


packages = (
    find_packages(include=['ego_reasoner_ros', 'ego_reasoner_ros.*'])
    + _subpackages('sim_bridge', 'ego_reasoner_ros.sim_bridge')
    + _subpackages('training', 'ego_reasoner_ros.training')
    + ['ego_reasoner_ros.data', 'ego_reasoner_ros.training.configs']  # data-only folders
)

setup(
    name=package_name,
    version=version,
    packages=packages,
    package_dir={
        'ego_reasoner_ros.sim_bridge': 'sim_bridge',
        'ego_reasoner_ros.training': 'training',
    },
    package_data={
        'ego_reasoner_ros': ['data/*.json', 'data/*.xml'],
        'ego_reasoner_ros.training': ['configs/*.yaml', 'configs/**/*.yaml', 'configs/*.json'],
    },
    include_package_data=True,
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml') + glob('config/*.xml')),
    ] + _data_tree('models', 'share/' + package_name),
    install_requires=['setuptools', 'numpy', 'pyyaml'],
    zip_safe=False,
    maintainer='ego_reasoner_ros maintainers',
    maintainer_email='maintainers@ego-reasoner.dev',
    description='A multimodal LLM in charge of embodied reasoning and planning on ROS 2.',
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
    entry_points={
        'console_scripts': [
            'ego-reasoner = ego_reasoner_ros.cli.main:main',
            'sim_bridge_node = ego_reasoner_ros.nodes.sim_bridge_node:main',
            'reasoner_node = ego_reasoner_ros.nodes.reasoner_node:main',
            'action_executor_node = ego_reasoner_ros.nodes.action_executor_node:main',
            'recorder_node = ego_reasoner_ros.nodes.recorder_node:main',
        ],
    },
)
