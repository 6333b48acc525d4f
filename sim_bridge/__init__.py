# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Simulators behind one contract: the embedded AI2-THOR-compatible simulator and AI2-THOR."""
