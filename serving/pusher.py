"""TFX Pusher executor that publishes a blessed model atomically into the serving directory.

Stock TFX's Pusher copies straight into the version folder (a loader polling the folder can see it
half-written), names versions by the second (two pushes in one second collide and the second is
silently dropped) and copies the model once more into its own artifact. This executor keeps TFX's
blessing checks and artifact properties and replaces only the copy, with `model_dir.publish`; and it
does not push again a model rolled back by hand (serving/rollback.py): its PushedModel is marked not
pushed, with the withdrawal described in `rollback.KEPT_BACK`. With `custom_config`'s `model_dir.KEEP_VERSIONS`
(`run --keep-versions N`), versions older than the newest N are removed after the push
(`model_dir.remove_old_versions`) and listed in `model_dir.REMOVED_VERSIONS`.
"""
import json
import os
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from serving import model_dir, rollback


class AtomicPushExecutor(tfx_pusher_executor.Executor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        pushed_model = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed_model)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        if destination.WhichOneof("destination") != "filesystem":
            raise ValueError("AtomicPushExecutor pushes to a filesystem destination only")
        model_base = destination.filesystem.base_directory
        withdrawn = rollback.withdrawn_copy(self.GetModelPath(input_dict), model_base)
        if withdrawn:
            self._MarkNotPushed(pushed_model)
            pushed_model.set_string_custom_property(rollback.KEPT_BACK, withdrawn.describe())
            pushed_model.set_int_custom_property(rollback.KEPT_BACK_VERSION, withdrawn.version)
            logging.warning("Not pushed: the model is %s", withdrawn.describe())
            return
        already = "://" not in model_base and model_dir.already_published(self.GetModelPath(input_dict), model_base)
        version_dir = already or model_dir.publish(self.GetModelPath(input_dict), model_base)
        self._MarkPushed(
            pushed_model,
            pushed_destination=version_dir,
            pushed_version=os.path.basename(version_dir),
        )
        if already:
            pushed_model.set_int_custom_property(model_dir.ALREADY_SERVED, 1)
        logging.info("Model pushed to %s", version_dir)
        custom_config = json.loads(exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
        keep = custom_config.get(model_dir.KEEP_VERSIONS)
        if keep:  # after the push, which stands whatever happens here (MLMD must record it)
            try:
                removed = model_dir.remove_old_versions(model_base, keep)
                pushed_model.set_string_custom_property(model_dir.REMOVED_VERSIONS, ",".join(map(str, removed)))
            except (OSError, ValueError) as error:
                logging.warning("Old versions not removed: %s", error)
                pushed_model.set_string_custom_property(model_dir.REMOVAL_FAILED, str(error))
