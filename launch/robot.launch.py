# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The reasoner graph on a real robot: reasoner + action executor (Nav2, manipulation services).

ros2 launch ego_reasoner_ros robot.launch.py semantic_map:=/path/map.yaml policy:=hf:/models/er

Uses the system's DDS settings. The robot provides camera/image_raw, a Nav2
navigate_to_pose action server and the manipulation services named in robot_executor.yaml.
"""

from launch import LaunchDescription
from launch.conditions import IfCondition
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare('ego_reasoner_ros')
    policy = LaunchConfiguration('policy')
    semantic_map = LaunchConfiguration('semantic_map')
    camera = LaunchConfiguration('camera_topic')

    record = LaunchConfiguration('record')

    return LaunchDescription([
        DeclareLaunchArgument('record', default_value='false',
                              description='Also record the graph\'s topics to an MCAP bag'),
        DeclareLaunchArgument('policy', default_value='expert',
                              description='Policy spec of a learned model, e.g. hf:PATH'),
        DeclareLaunchArgument('semantic_map',
                              default_value=PathJoinSubstitution(
                                  [share, 'config', 'semantic_map_example.yaml']),
                              description='Semantic map YAML: objects, poses, containers'),
        DeclareLaunchArgument('camera_topic', default_value='camera/image_raw',
                              description='The robot camera topic (sensor_msgs/Image)'),
        Node(package='ego_reasoner_ros', executable='reasoner_node', name='reasoner',
             parameters=[PathJoinSubstitution([share, 'config', 'reasoner.yaml']),
                         {'policy': policy, 'image_topic': camera}],
             output='screen', emulate_tty=True),
        Node(package='ego_reasoner_ros', executable='action_executor_node',
             name='action_executor',
             parameters=[PathJoinSubstitution([share, 'config', 'robot_executor.yaml']),
                         {'semantic_map': semantic_map, 'image_topic': camera}],
             output='screen', emulate_tty=True),
        Node(package='ego_reasoner_ros', executable='recorder_node', name='recorder',
             parameters=[PathJoinSubstitution([share, 'config', 'recorder.yaml'])],
             condition=IfCondition(record), output='screen', emulate_tty=True),
    ])
