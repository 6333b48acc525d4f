# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED replayed in the embedded simulator (EmbodiedBench high-level suite)."""
