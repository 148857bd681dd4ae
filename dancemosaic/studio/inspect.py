"""The studio's inspection panel: check a song and a mocap file before generating from them.

Upload a song to see its length, tempo and beats; upload a BVH from any supported rig to see how it
retargets onto the canonical skeleton and download it as a canonical BVH. Handlers take file paths
and return plain values, so tests call them without a browser; errors become ``gr.Error`` here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from dancemosaic import music
from dancemosaic.mocap import export_bvh, import_bvh
from dancemosaic.studio.uploads import UploadPolicy
from dancemosaic.timing import frames_to_seconds


def describe_song(path: str | None) -> str:
    """Markdown summary of an uploaded song: duration, tempo, beat count."""
    if not path:
        return "Upload a song (wav, ogg, flac or mp3)."
    try:
        features = music.extract_features(music.load_audio(path))
    except ValueError as err:
        raise gr.Error(str(err)) from None
    seconds = frames_to_seconds(features.num_frames)
    tempo = f"{features.tempo_bpm:.1f} BPM" if features.tempo_bpm else "no steady beat (silence?)"
    return f"**{Path(path).name}**: {seconds:.1f} s, tempo {tempo}, {len(features.beat_frames)} beats"


def retarget_bvh(path: str | None) -> tuple[str, str | None]:
    """Retarget an uploaded BVH; returns a Markdown report and the canonical BVH's path."""
    if not path:
        return "Upload a BVH (CMU, iClone CC_Base, Bandai-Namco, Mixamo or SMPL joint names).", None
    try:
        motion, report = import_bvh(path)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    out = Path(tempfile.mkdtemp(prefix="dancemosaic-")) / f"{Path(path).stem}-smpl.bvh"
    export_bvh(motion, out)
    text = (
        f"**{Path(path).name}**: rig `{report.rig}`, {motion.duration:.1f} s at {motion.fps:g} fps. "
        f"Limb bone directions within {report.limb_error_max_deg:.3f} deg of the source; "
        f"joints within {report.joint_error_mean_mm:.0f} mm on average after scaling by leg length."
    )
    return text, str(out)


def build_inspect_tab(uploads: UploadPolicy) -> None:
    """The panel; ``uploads`` says which files its two public endpoints may read."""

    def checked(path: str | None, what: str) -> str | None:
        try:
            return None if path is None else str(uploads.check(path, what))
        except ValueError as err:
            raise gr.Error(str(err), print_exception=False) from None

    with gr.Row():
        with gr.Column():
            song = gr.Audio(type="filepath", label="Song")
            song_info = gr.Markdown()
        with gr.Column():
            bvh = gr.File(label="Mocap (BVH)", file_types=[".bvh"])
            bvh_info = gr.Markdown()
            canonical = gr.File(label="Canonical BVH (SMPL skeleton, 30 fps)")
    song.change(lambda p: describe_song(checked(p, "the song")), song, song_info, api_name="describe_song")
    bvh.change(
        lambda p: retarget_bvh(checked(p, "the BVH")), bvh, [bvh_info, canonical], api_name="retarget_bvh"
    )
