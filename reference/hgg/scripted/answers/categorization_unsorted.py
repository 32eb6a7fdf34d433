# Write the boundaries from the tool call as planned.
import json
import os

WORKSPACE = os.environ.get("LLM4HEP_WORKSPACE", "/workspace")
boundaries = [0.95, 0.4, 0.8]     # tight category first
with open(os.path.join(WORKSPACE, "categories.json"), "w") as fh:
    json.dump({"boundaries": boundaries, "z": 12.0}, fh)
print("wrote categories.json", boundaries)
