"""Replicate / cog: `cog predict -i video=@talk.mp4 -i audio=@speech.wav`, `cog push` (README, "Replicate").

cog reads the parameters below from this file's text (`cog build` parses it without running Python), so each is
spelled out as plain literals; tests/test_doors.py holds them to LipsyncSettings, where the settings are defined.
The work is done by latentsync.cli.cog_predictor.
"""
from cog import BasePredictor, Input, Path

from latentsync.cli.cog_predictor import CogLipsync


class Predictor(BasePredictor):
    def setup(self) -> None:
        """Load the models once (the 1.6 weights are downloaded first when the image has none)."""
        self.lipsync = CogLipsync.from_environment()

    def predict(
        self,
        video: Path = Input(description="video of a talking face (any format PyAV reads)"),
        audio: Path = Input(description="speech the lips should follow (any audio file, or a video with sound)"),
        num_inference_steps: int = Input(default=20, ge=1, le=1000, description="DDIM steps, 1 to 1000; 20-50 give good results, more are slower (default: the config's run.inference_steps, 20)"),
        guidance_scale: float = Input(default=1.5, ge=1.0, description="classifier-free audio guidance, at least 1.0; 1.0 = off (faster), higher = stronger lip movement, 1.5-2.5 usual (default: the config's run.guidance_scale, 1.5)"),
        seed: int = Input(default=1247, ge=-1, description="seed of the noise; same seed, same video; -1 draws one and logs it (default: the config's run.seed, 1247)"),
        enable_deepcache: bool = Input(default=True, description="reuse deep U-Net features every --deepcache_interval steps: ~2x faster, slightly different output"),
        deepcache_interval: int = Input(default=3, ge=1, description="DeepCache's interval in steps, at least 1 (default 3)"),
        windows_per_call: int = Input(default=1, ge=1, description="16-frame windows per U-Net call, at least 1: more is faster on a GPU with memory to spare (same output to float noise; default 1)"),
        max_face_gap: int = Input(default=2, ge=0, description="frames without a detected face, at least 0, that borrow their neighbours' face (default 2)"),
        speaker: str = Input(default="largest", description="largest = the largest face of each frame (the original's rule); center = the face track nearest the frame centre; active = the face whose lips follow the video's own soundtrack (per scene); point:X,Y[@SECONDS] = the face at that pixel (at that time; default: its first frame with a face)"),
        sync_mode: str = Input(default="bounce", choices=["bounce", "loop", "remap", "cut_off", "silence"], description="when video and audio lengths differ: bounce = the video plays forward and backward until the audio ends (the original's); loop = restarts from its first frame; remap = time-stretched to the audio; cut_off = the longer one is trimmed; silence = nothing is trimmed (a shorter audio is padded with silence over the source frames, a shorter video holds its last frame)"),
        audio_context: str = Input(default="cut", choices=["cut", "overlap"], description="Whisper's 30 s windows: cut = back to back (the original's; features jump every 30 s), overlap = one more window across each 30 s boundary, no seam (a little slower)"),
        silence: str = Input(default="generate", choices=["generate", "keep"], description="generate = lips are generated through pauses (the original's); keep = the source frames pass through where the audio is silent, cross-faded over 3 frames"),
        silence_db: float = Input(default=-45.0, le=0.0, description="silent below this RMS level over a frame, in dBFS, at most 0 (default -45)"),
        silence_min_seconds: float = Input(default=0.4, ge=0.0, description="shortest pause kept, in seconds, more than 0 (default 0.4)"),
        face_enhance: bool = Input(default=False, description="restore the lip-synced face after paste-back (the generated mouth is protected)"),
        face_enhance_method: str = Input(default="gfpgan", choices=["gfpgan", "codeformer", "gpen"], description="gfpgan = GFPGAN v1.4, codeformer = CodeFormer, gpen = GPEN-BFR-512"),
        face_enhance_strength: float = Input(default=0.8, ge=0.0, le=1.0, description="0 to 1: 0 = unrestored face, 1 = fully restored outside the protected mouth"),
        face_enhance_mouth_protection: float = Input(default=0.8, ge=0.0, le=1.0, description="0 to 1: share of the generated mouth kept over the restored one (1 = mouth untouched)"),
        codeformer_fidelity: float = Input(default=0.5, ge=0.0, le=1.0, description="CodeFormer's fidelity weight, 0 to 1: 0 = strongest restoration, 1 = closest to the input"),
        encoding: str = Input(default="standard", choices=["standard", "high_quality", "fast"], description="x264 settings of a written video: standard = the original's (CRF 18, medium); high_quality = CRF 13, slow (bigger file, finer detail); fast = CRF 16, veryfast (about standard's fidelity, 2-3x faster to encode, ~15% bigger)"),
        align_dtype: str = Input(default="float32", choices=["float32", "float16"], description="precision of face alignment and paste-back: float32 (default; more precise) or float16 (the original's: its matrices, warps, masks and blend in float16; crops and pastes differ from float32's by a level or two, by tens at sharp edges)"),
        staging: str = Input(default="none", choices=["none", "original"], description="none (default): the input is read as it is and the output encoded once; original = the original's files: the input re-encoded at 25 fps (x264 CRF 18) before anything reads it, the output written at CRF 13 and re-encoded at CRF 18 (two more lossy generations; --encoding then does not apply)"),
    ) -> Path:
        """The video with its mouth regenerated to follow the audio: H.264 + AAC mp4, 25 fps, as long as the audio."""
        settings = dict(locals())  # every parameter after video and audio is a lip-sync setting
        del settings["self"], settings["video"], settings["audio"]
        return Path(self.lipsync.predict(video, audio, **settings))
