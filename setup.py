"""Installable TFX pipeline: `pip install -e .` (exact versions come from requirements.lock)."""
from setuptools import setup

setup(
    name="tfxpipe",
    version="0.1.0",
    description="Production-grade TFX pipeline: validated training and push to TensorFlow Serving.",
    python_requires=">=3.10,<3.11",
    packages=["cli", "pipeline", "models", "schema", "serving"],
    install_requires=[
        "tfx==1.16.0",
        "apache-beam[gcp]==2.59.0",
        "tensorflow==2.16.2",
        "tf-keras==2.16.0",
        "tensorflow-transform==1.16.0",
        "tensorflow-data-validation==1.16.1",
        "tensorflow-model-analysis==0.47.1",
        "tensorflow-serving-api==2.16.1",
        "ml-metadata==1.16.0",
        "dill",
        "uvicorn==0.54.0",  # serving: REST (ASGI server)
        "httptools==0.9.0",  # serving: REST (uvicorn's HTTP parser)
        "grpcio==1.85.3",  # serving: gRPC
        "uvloop==0.23.0",  # serving: the event loop (benchmarks/serving_latency.py measures it)
        "urllib3==1.26.20",  # serving: REST client
        "psycopg2-binary==2.9.13",  # run lock when ML Metadata is on a PostgreSQL server
        "PyMySQL==1.1.2",  # why a MySQL metadata server refused a connection (MLMD does not say)
        "matplotlib==3.10.9",  # run report charts (SVG)
        "scikit-learn==1.5.1",  # init: features that copy the label (schema/label_copies.py)
        "scipy==1.12.0",  # init: rank correlation of a feature with a numeric label
    ],
    entry_points={"console_scripts": ["tfxpipe=cli.main:console_main"]},
)
