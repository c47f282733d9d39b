"""The options of the lip-sync commands (one video, and the batch): the models to load and every
``LipsyncSettings`` field, each as a flag built from the field's own help, range and choices. The model code is
imported when a command runs, not to build the options."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from latentsync.cli.arguments import device_name
from latentsync.errors import InputError
from latentsync.face.landmarks.factory import LANDMARK_DETECTORS
from latentsync.face.speaker_choice import SpeakerChoice
from latentsync.locations import DEFAULT_CHECKPOINTS_DIR, DEFAULT_VAE, CheckpointLayout
from latentsync.pipelines.settings import ORIGINAL, REPRODUCE_ORIGINAL, LipsyncSettings, SettingSpec
from latentsync.utils.cli_ranges import number_in_range

if TYPE_CHECKING:
    from latentsync.pipelines.lipsync_pipeline import LipsyncPipeline

logger = logging.getLogger(__name__)


def speaker_choice(text: str) -> SpeakerChoice:
    """argparse type: a ``--speaker`` value."""
    try:
        return SpeakerChoice.parse(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def setting_flag(name: str, spec: SettingSpec) -> str:
    return spec.flag or f"--{name}"


def add_setting_argument(group: argparse._ArgumentGroup, name: str, spec: SettingSpec, default: object) -> None:
    """The flag of one setting: a switch (with its ``--no-`` form when on by default), a choice, a checked number or
    a speaker."""
    options: dict = {"dest": name, "default": default, "help": spec.help}
    if spec.kind is bool:
        options["action"] = argparse.BooleanOptionalAction if default else "store_true"
    elif spec.kind is SpeakerChoice:
        options["type"] = speaker_choice
    elif spec.choices:
        options["choices"] = spec.choices
    elif spec.low is not None or spec.high is not None:
        options["type"] = number_in_range(spec.kind, spec.low, spec.high, spec.above_low)
    else:
        options["type"] = spec.kind
    group.add_argument(setting_flag(name, spec), **options)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Which models to load and where their weights are."""
    models = parser.add_argument_group("models")
    models.add_argument("--unet_config_path", default="configs/unet/stage2_512.yaml",
                        help="U-Net config matching the checkpoint: stage2_512.yaml for 1.6, stage2.yaml for 1.5; "
                             "also gives the defaults of steps, guidance, seed, fps and the mask")
    models.add_argument("--checkpoints_dir", default=str(DEFAULT_CHECKPOINTS_DIR),
                        help="folder of the weights: latentsync_unet.pt, whisper/, auxiliary/ (landmark detectors), "
                             "enhancers/")
    models.add_argument("--inference_ckpt_path", default=None,
                        help="U-Net weights (default: CHECKPOINTS_DIR/latentsync_unet.pt)")
    models.add_argument("--whisper_model_path", default=None,
                        help="Whisper checkpoint (default: CHECKPOINTS_DIR/whisper/tiny.pt for 384-dim configs, "
                             "small.pt for 768)")
    models.add_argument("--vae_model_path", default=DEFAULT_VAE, help="VAE: Hugging Face id or local folder")
    models.add_argument("--mask_image_path", default=None,
                        help="custom mouth mask image (white = keep, black = regenerate); default: the config's")
    models.add_argument("--enhancers_dir", type=Path, default=None,
                        help="folder of the ONNX face restorers, fetched by scripts.download_checkpoints "
                             "(default: CHECKPOINTS_DIR/enhancers)")
    runtime = parser.add_argument_group("runtime")
    runtime.add_argument("--device", type=device_name, default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:1, cpu, ...")
    runtime.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                         help="auto = float16 on GPUs that support it (Whisper: on every GPU, as the original), "
                              "else float32")
    runtime.add_argument("--face_backend", default="auto", choices=["auto", *LANDMARK_DETECTORS],
                         help="landmark detector; auto = the release's (1.6: insightface, 1.5: face_alignment) "
                              "when installed with its weights, else the next best (logged)")
    runtime.add_argument("--audio_cache_dir", default=None,
                         help="cache Whisper features here, keyed by the audio's content")
    runtime.add_argument("--temp_dir", default=None, help=argparse.SUPPRESS)  # the original's; nothing is staged


def add_settings_arguments(parser: argparse.ArgumentParser, defaults: LipsyncSettings = LipsyncSettings()) -> None:
    """A flag for every ``LipsyncSettings`` field, in its group (``defaults`` may differ from the settings')."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name, spec in LipsyncSettings.specs().items():
        group = groups.get(spec.group) or groups.setdefault(spec.group, parser.add_argument_group(spec.group))
        add_setting_argument(group, name, spec, getattr(defaults, name))
    groups[LipsyncSettings.specs()["encoding"].group].add_argument(
        "--high_quality", dest="encoding", action="store_const", const="high_quality",
        help="same as --encoding high_quality")
    groups[ORIGINAL].add_argument(
        "--reproduce", choices=["original"], default=None,
        help="original: the original's outputs, frame for frame, on the same machine: "
             + ", ".join(f"--{name} {value}" for name, value in REPRODUCE_ORIGINAL.items()) + " (these win)")
    groups[LipsyncSettings.specs()["enable_deepcache"].group].add_argument(
        "--no_deepcache", dest="enable_deepcache", action="store_false",
        help="DeepCache off (inference.sh turns it on, as the original's; the last of the two flags wins)")


def settings_from_args(args: argparse.Namespace) -> LipsyncSettings:
    """The ``LipsyncSettings`` the flags give (``--reproduce original`` sets its settings over theirs)."""
    values = {name: getattr(args, name) for name in LipsyncSettings.specs()}
    if getattr(args, "reproduce", None) == "original":
        values |= REPRODUCE_ORIGINAL
    return LipsyncSettings(**values)


def enhancers_dir(args: argparse.Namespace) -> Path:
    return args.enhancers_dir if args.enhancers_dir is not None else CheckpointLayout(args.checkpoints_dir).enhancers


def ignored_flags(settings: LipsyncSettings) -> list[str]:
    """The flags changed from their defaults that this run ignores, and why: face enhancement's without
    --face_enhance, CodeFormer's fidelity with another restorer, DeepCache's interval without DeepCache."""
    specs, changed = LipsyncSettings.specs(), settings.changed()
    enhancement = [setting_flag(name, specs[name]) for name in changed
                   if specs[name].group == specs["face_enhance"].group]
    ignored = []
    if enhancement and not settings.face_enhance:
        ignored.append(f"{', '.join(enhancement)} without --face_enhance")
    elif "codeformer_fidelity" in changed and settings.face_enhance_method != "codeformer":
        ignored.append(f"--codeformer_fidelity with --face_enhance_method {settings.face_enhance_method}")
    if "deepcache_interval" in changed and not settings.enable_deepcache:
        ignored.append("--deepcache_interval without --enable_deepcache")
    return ignored


def check_before_loading(args: argparse.Namespace, settings: LipsyncSettings, video: Path | None = None) -> None:
    """What fails fast before minutes of model loading: an audio cache folder that cannot be written, a missing mask
    image or restorer, a ``--speaker`` point outside the ``video``'s frame, a ``video`` without a face (a few sampled
    frames; ``auto`` checks with the offline mediapipe mesh, the pipeline then picks the release's backend), and the
    U-Net config and every weight file. Flags that would be ignored are warned about.
    """
    from latentsync.io.paths import check_output_folder
    from latentsync.io.video_reader import VideoReader
    from latentsync.pipelines.pipeline_weights import check_pipeline_weights

    for ignored in ignored_flags(settings):
        logger.warning("ignored (no effect): %s", ignored)
    if args.audio_cache_dir is not None:
        check_output_folder(args.audio_cache_dir, "--audio_cache_dir")
    if args.mask_image_path is not None:
        from latentsync.face.mask_image import read_mask_image

        read_mask_image(args.mask_image_path)
    if settings.face_enhance:
        from latentsync.face.enhancement.spec import check_face_enhancer

        check_face_enhancer(settings.face_enhance_method, enhancers_dir(args))
    if video is not None:  # the checks above import no torch: a refusal among them is quick
        from latentsync.face.quick_check import require_a_face
        from latentsync.utils.device import resolve_device

        reader = VideoReader(video)
        settings.speaker.check_within(reader.width, reader.height, reader.duration, reader.name)
        backend = "mediapipe" if args.face_backend == "auto" else args.face_backend
        require_a_face(video, backend, resolve_device(args.device),
                       weights_dir=CheckpointLayout(args.checkpoints_dir).auxiliary)
    check_pipeline_weights(args.unet_config_path, args.inference_ckpt_path, args.whisper_model_path,
                           args.vae_model_path, args.checkpoints_dir)


def load_pipeline_from_args(args: argparse.Namespace) -> LipsyncPipeline:
    from latentsync.pipelines.loading import load_lipsync_pipeline

    return load_lipsync_pipeline(args.unet_config_path, args.inference_ckpt_path, args.whisper_model_path,
                                 args.vae_model_path, device=args.device, dtype=args.dtype,
                                 audio_cache_dir=args.audio_cache_dir, checkpoints_dir=args.checkpoints_dir,
                                 face_backend=args.face_backend, mask_image_path=args.mask_image_path,
                                 enhancers_dir=enhancers_dir(args))

