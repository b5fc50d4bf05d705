"""Synthetic whole-slide images for tests, the demo and the benchmark: small pyramidal TIFFs
written with tifffile, so nothing is downloaded.

* ``generic_tiff``: a tiled pyramidal TIFF with the reduced levels as top-level pages marked
  as reduced images (NewSubfileType 1), JPEG tiles (OpenSlide's "generic-tiff" vendor; it
  does not read levels stored as SubIFDs).
* ``aperio_svs``: an Aperio-style SVS (ImageDescription starting ``Aperio``, ``MPP = 0.25``,
  ``AppMag = 20``) with levels as top-level tiled pages, a thumbnail, a label and a macro.

The content looks like stained tissue (pink islands with purple nuclei on a white
background), so tiles compress like real ones. A 4096x3072 slide takes a fraction of a
second to write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from scipy import ndimage

TILE = 256
BACKGROUND = np.array([242, 240, 245], dtype=np.float32)
EOSIN = np.array([222, 150, 190], dtype=np.float32)
HAEMATOXYLIN = np.array([95, 60, 140], dtype=np.float32)


def tissue(width: int, height: int, *, seed: int = 5) -> np.ndarray:
    """An RGB uint8 image (height, width, 3) that looks like an H&E section."""
    rng = np.random.default_rng(seed)
    # Drawn at a quarter of the size and enlarged: the cost stays a fraction of a second.
    small_h, small_w = max(-(-height // 4), 2), max(-(-width // 4), 2)
    coarse = rng.random((max(small_h // 32, 2), max(small_w // 32, 2)), dtype=np.float32)
    field = ndimage.zoom(coarse, (small_h / coarse.shape[0], small_w / coarse.shape[1]), order=1)
    mask = (field[:small_h, :small_w] > 0.5)[..., None]
    texture = rng.random((small_h, small_w, 1), dtype=np.float32)
    nuclei = texture > 0.9
    stained = np.where(nuclei, HAEMATOXYLIN, EOSIN * (0.85 + 0.15 * texture))
    small = np.where(mask, stained, BACKGROUND).astype(np.uint8)
    return np.ascontiguousarray(small.repeat(4, axis=0).repeat(4, axis=1)[:height, :width])


def _levels(base: np.ndarray, smallest: int = TILE) -> list[np.ndarray]:
    levels = [base]
    while max(levels[-1].shape[:2]) > smallest:
        # Every other pixel: a cheap 2x reduction, good enough for synthetic content.
        levels.append(np.ascontiguousarray(levels[-1][::2, ::2]))
    return levels


def generic_tiff(path: Path, width: int = 4096, height: int = 3072, *, seed: int = 5) -> Path:
    """Write a generic tiled pyramidal TIFF and return its path."""
    levels = _levels(tissue(width, height, seed=seed))
    options = {"tile": (TILE, TILE), "compression": "jpeg", "photometric": "rgb", "metadata": None}
    with tifffile.TiffWriter(path) as tif:
        tif.write(levels[0], **options)  # type: ignore[arg-type]
        for level in levels[1:]:
            tif.write(level, subfiletype=1, **options)  # type: ignore[arg-type]
    return path


def aperio_svs(
    path: Path,
    width: int = 4096,
    height: int = 3072,
    *,
    mpp: float = 0.25,
    magnification: int = 20,
    seed: int = 7,
) -> Path:
    """Write an Aperio-style SVS with a label and a macro image and return its path."""
    levels = _levels(tissue(width, height, seed=seed))
    header = (
        f"Aperio Image Library v12.0.15 \n{width}x{height} [0,0 {width}x{height}] ({TILE}x{TILE})"
    )
    meta = f"AppMag = {magnification}|MPP = {mpp}|Filename = synthetic"
    # metadata=None: tifffile's own JSON description would come first and hide Aperio's.
    options = {"compression": "jpeg", "photometric": "rgb", "metadata": None}
    thumbnail = np.ascontiguousarray(levels[0][:: max(width // 512, 1), :: max(width // 512, 1)])
    label = np.full((200, 200, 3), 250, dtype=np.uint8)
    label[40:160, 40:160] = 20  # stands in for the printed barcode with the patient's name
    macro = np.ascontiguousarray(tissue(600, 240, seed=seed + 1))
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            levels[0],
            tile=(TILE, TILE),
            description=f"{header} JPEG/RGB Q=70|{meta}",
            **options,  # type: ignore[arg-type]
        )
        tif.write(thumbnail, description=f"{header} -> thumbnail|{meta}", **options)  # type: ignore[arg-type]
        for level in levels[1:]:
            tif.write(
                level,
                tile=(TILE, TILE),
                description=f"{header} -> {level.shape[1]}x{level.shape[0]} JPEG/RGB Q=70|{meta}",
                **options,  # type: ignore[arg-type]
            )
        tif.write(
            label,
            subfiletype=1,
            description="Aperio Image Library v12.0.15\nlabel 200x200",
            compression="lzw",
            photometric="rgb",
            metadata=None,
        )
        tif.write(
            macro,
            subfiletype=9,
            description="Aperio Image Library v12.0.15\nmacro 600x240",
            **options,  # type: ignore[arg-type]
        )
    return path


# -- cases with slides -------------------------------------------------------------------

PATHOLOGY_CHECKLIST = {
    "slides_attached": True,
    "stain_stated": True,
    "history_given": True,
    "gross_described": True,
}


def pathology_draft(team: Any, *, record: str = "P-0001") -> Any:
    """A pathology case in draft by the team's requester (a synthetic patient)."""
    from telemed.consultations import services
    from telemed.testing import register

    patient = register(team.requester, "李桂兰", record).patient
    return services.create_draft(
        team.requester,
        patient.pk,
        services.Request(
            kind="pathology",
            clinical_summary="乳腺肿物，空芯针穿刺活检。",
            question="良性还是恶性？",
            wanted_specialty="cardiology",
            consent_confirmed=True,
        ),
    )


def upload(user: Any, consultation: Any, path: Path, *, stain: str = "H&E") -> Any:
    from telemed.pathology import services

    with path.open("rb") as stream:
        return services.register_slide(
            user,
            consultation.pk,
            stream,
            path.name,
            declared_size=path.stat().st_size,
            stain=stain,
        )


def assign(team: Any, consultation: Any) -> Any:
    """Submit, pass QC and triage the case to the team's expert."""
    from telemed.consultations import services
    from telemed.consultations.models import Consultation

    services.submit(team.requester, consultation.pk)
    services.quality_check(team.qc, consultation.pk, accept=True, checklist=PATHOLOGY_CHECKLIST)
    services.triage(team.manager, consultation.pk, expert_id=team.expert.pk)
    return Consultation.objects.unscoped("test").get(pk=consultation.pk)


def sample_slide(requester: Any, *, record: str = "P-WALK") -> Any:
    """A small slide on a new pathology case of ``requester``, with one annotation and one
    key image (for route walks that need someone's records)."""
    import tempfile

    from telemed.consultations import services as consultation_services
    from telemed.pathology import services
    from telemed.testing import register

    patient = register(requester, "王淑珍", record).patient
    case = consultation_services.create_draft(
        requester,
        patient.pk,
        consultation_services.Request(kind="pathology", clinical_summary="胃镜活检。"),
    )
    with tempfile.TemporaryDirectory() as folder:
        slide = upload(requester, case, aperio_svs(Path(folder) / "walk.svs", 1024, 768))
    services.annotate(requester, slide.pk, services.NewAnnotation("point", [[10, 10]]))
    services.take_key_image(requester, slide.pk, 0, 0, 256, 256)
    return slide


def hub_for_edge() -> dict[str, object]:
    """A hub's data for an edge to talk to (run in a fresh hub database): a county
    hospital's pathology case in draft and an API client of that hospital for its edge."""
    from types import SimpleNamespace

    from telemed.accounts.services import create_api_client
    from telemed.testing import build_network, make_user

    network = build_network()
    requester = make_user("alice", "requesting_doctor", network.county_a)
    case = pathology_draft(SimpleNamespace(requester=requester))
    client = create_api_client(network.county_a.code, "edge gateway")
    return {
        "case_id": case.pk,
        "case_number": case.number,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
