# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The reasoner graph on the embedded simulator: sim bridge, reasoner and action executor.

ros2 launch ego_reasoner_ros sim.launch.py                # a generated kitchen, no data
ros2 launch ego_reasoner_ros sim.launch.py scene:=FloorPlan1   # after ego-reasoner data fetch

DDS stays on localhost (the shipped Fast DDS profile). Without ``ros2 launch`` the same nodes
with the same parameter files start with ``ego-reasoner launch sim``.
"""

from launch import LaunchDescription
from launch.conditions import IfCondition
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare('ego_reasoner_ros')
    scene = LaunchConfiguration('scene')
    policy = LaunchConfiguration('policy')
    task = LaunchConfiguration('task')

    record = LaunchConfiguration('record')

    return LaunchDescription([
        DeclareLaunchArgument('record', default_value='false',
                              description='Also record the graph\'s topics to an MCAP bag'),
        DeclareLaunchArgument('scene', default_value='procedural:kitchen:0',
                              description='procedural:[ROOM:]SEED (generated, no data), a '
                                          'scene name such as FloorPlan1 (needs '
                                          '`ego-reasoner data fetch`) or a scene folder'),
        DeclareLaunchArgument('policy', default_value='expert',
                              description='Policy spec: expert, hf:PATH, openai:URL#MODEL'),
        DeclareLaunchArgument('task', default_value='',
                              description='Task started at launch (JSON or an instruction)'),
        SetEnvironmentVariable('FASTDDS_DEFAULT_PROFILES_FILE',
                               PathJoinSubstitution([share, 'config', 'fastdds_localhost.xml'])),
        SetEnvironmentVariable('FASTRTPS_DEFAULT_PROFILES_FILE',
                               PathJoinSubstitution([share, 'config', 'fastdds_localhost.xml'])),
        SetEnvironmentVariable('EGO_REASONER_DDS_MODE', 'demo'),
        SetEnvironmentVariable('RCUTILS_LOGGING_BUFFERED_STREAM', '1'),
        Node(package='ego_reasoner_ros', executable='sim_bridge_node', name='sim_bridge',
             parameters=[PathJoinSubstitution([share, 'config', 'sim_bridge.yaml']),
                         {'scene': scene}],
             output='screen', emulate_tty=True),
        Node(package='ego_reasoner_ros', executable='reasoner_node', name='reasoner',
             parameters=[PathJoinSubstitution([share, 'config', 'reasoner.yaml']),
                         {'policy': policy, 'initial_task': task}],
             output='screen', emulate_tty=True),
        Node(package='ego_reasoner_ros', executable='action_executor_node',
             name='action_executor',
             parameters=[PathJoinSubstitution([share, 'config', 'executor.yaml'])],
             output='screen', emulate_tty=True),
        Node(package='ego_reasoner_ros', executable='recorder_node', name='recorder',
             parameters=[PathJoinSubstitution([share, 'config', 'recorder.yaml'])],
             condition=IfCondition(record), output='screen', emulate_tty=True),
    ])
