"""The curated schema (`schema.pbtxt`): the contract the data must meet, checked in and reviewed."""
import os

SCHEMA_DIR = os.path.dirname(os.path.abspath(__file__))
SCHEMA_FILE = os.path.join(SCHEMA_DIR, "schema.pbtxt")
