# Synthetic LR/HR licence plates (dld.datasets.synth), paired label format.
#
# tools/train.py, test.py and the report tools call
# `ensure_synth_plates(**synth_plates)` first, so a fresh clone generates the
# data (about 35 s on one core) before its first run.
#
# Size: 1500 train tracks x 5 frames = 7500 HR/LR pairs, 10500 plate
# characters (~290 per class of 36) each seen in 5 poses and lightings -
# enough for a small CPU-trained teacher to read clean HR plates well while
# one epoch stays a few minutes on CPU. 150 val tracks (750 frames) keep
# validation cheap; 300 test tracks (1500 frames) make track accuracy
# steps of 0.33 points. Labels never repeat across splits.
data_root = 'data/synth_plates/'
synth_plates = dict(
    data_root=data_root,
    tracks=1500,
    val_tracks=150,
    test_tracks=300,
    frames=5,
    seed=0,
    layouts=('brazilian', 'mercosur'),
    hr_size=(64, 192),  # (H, W) of the rendered HR crops
)

dataset_type = 'PairedPlateDataset'
dictionary = dict(type='Dictionary')  # 0-9 A-Z (dld PLATE_CHARS)

input_size = (48, 144)  # (H, W) for the teacher's HR and the student's base LR

train_pipeline = [
    dict(type='LoadPlateImages', color_type='color'),
    # The same small motion on LR and HR keeps their features aligned for
    # feature distillation; lighting differs, as between two captures.
    dict(type='PlateRandomAffine', prob=0.5, keys=('img', 'img_hr'), consistent=True),
    dict(type='PlatePhotometricDistort', prob=0.8, keys=('img', 'img_hr'), consistent=False),
    dict(type='ResizePair', lr_size=input_size, hr_size=input_size),
    dict(type='PackPlateInputs', main_stream='lr'),
]
test_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_hr=False),
    dict(type='ResizePair', lr_size=input_size, hr_size=input_size),
    dict(type='PackPlateInputs', main_stream='lr'),
]
# Teacher: HR in `inputs`, LR never read.
hr_train_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_lr=False, with_hr=True),
    dict(type='PlateRandomAffine', prob=0.5, keys=('img_hr', )),
    dict(type='PlatePhotometricDistort', prob=0.8, keys=('img_hr', )),
    dict(type='ResizePair', lr_size=input_size, hr_size=input_size),
    dict(type='PackPlateInputs', main_stream='hr'),
]
hr_test_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_lr=False, with_hr=True),
    dict(type='ResizePair', lr_size=input_size, hr_size=input_size),
    dict(type='PackPlateInputs', main_stream='hr'),
]
# DLD's efficiency setting: the student reads the teacher's own HR crop
# (copied after augmentation, so both read the same pixels).
hr_as_student_train_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_lr=False, with_hr=True),
    dict(type='PlateRandomAffine', prob=0.5, keys=('img_hr', )),
    dict(type='PlatePhotometricDistort', prob=0.8, keys=('img_hr', )),
    dict(type='CopyHRToLR'),
    # Stretched as the teacher's HR is (not padded to keep its ratio), so
    # both read the same pixels whatever the crop's aspect.
    dict(type='ResizePair', lr_size=input_size, hr_size=input_size, lr_keep_ratio=False),
    dict(type='PackPlateInputs', main_stream='lr'),
]
hr_as_student_test_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_lr=False, with_hr=True),
    dict(type='CopyHRToLR'),
    dict(type='ResizePair', lr_size=input_size, hr_size=input_size, lr_keep_ratio=False),
    dict(type='PackPlateInputs', main_stream='lr'),
]

train_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='train.txt',
    dictionary=dictionary,
    frames='all',  # every frame of every track, once per epoch
    # Each item's augmentations seeded from its index (EpochOffsetSampler:
    # a new one every epoch) and the run's seed: a resumed run reads the
    # same images as an unbroken one, persistent workers or not.
    seed_pipeline=True,
    pipeline=train_pipeline)
# Training plates rendered when read (OnlineSynthPlateDataset) instead of
# the 7500 on disk: with EpochOffsetSampler every epoch reads 7500 new ones.
# They follow the rendered set's layouts and crop size, and never draw a
# validation or test plate. Leaf configs take `online_train_dataset` with
# their own pipeline minus LoadPlateImages (the items hold the images).
# A worker renders some 250 plates a second: on a GPU, give the loader more
# workers (docs/datasets.md, "Speed").
online_train_dataset = dict(
    type='OnlineSynthPlateDataset',
    num_plates=synth_plates['tracks'] * synth_plates['frames'],
    seed=0,  # give each run a seed of its own, or it reads the last one's plates
    layouts=synth_plates['layouts'],
    hr_size=synth_plates['hr_size'],
    exclude_ann_files=[data_root + 'val.txt', data_root + 'test.txt'],
    dictionary=dictionary,
    pipeline=train_pipeline[1:])
online_train_sampler = dict(type='EpochOffsetSampler', shuffle=True)
val_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='val.txt',
    dictionary=dictionary,
    frames='all',  # all frames, so TrackAccuracyMetric can vote per track
    test_mode=True,
    pipeline=test_pipeline)
test_dataset = dict(val_dataset, ann_file='test.txt')

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='EpochOffsetSampler', shuffle=True),  # see seed_pipeline
    # each image stream one tensor a batch: one shared-memory block from a worker
    # (scoped: MMEngine's runner looks collate functions up in its root registry)
    collate_fn=dict(type='dld.plate_collate'),
    dataset=train_dataset)
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='dld.plate_collate'),
    dataset=val_dataset)
test_dataloader = dict(val_dataloader, dataset=test_dataset)

# Teacher configs: `train_dataloader = hr_train_dataloader` etc.
hr_train_dataloader = dict(train_dataloader, dataset=dict(train_dataset,
                                                          pipeline=hr_train_pipeline))
hr_val_dataloader = dict(
    val_dataloader, dataset=dict(val_dataset, load_hr=True, pipeline=hr_test_pipeline))
hr_test_dataloader = dict(
    test_dataloader, dataset=dict(test_dataset, load_hr=True, pipeline=hr_test_pipeline))

val_evaluator = [
    dict(type='PlateRecogMetric'),  # plate accuracy, char accuracy, 1-NED (per frame)
    dict(type='TrackAccuracyMetric'),  # one answer per track from its frames
    dict(type='ReadingCostMetric'),  # DLD: mean GFLOPs per image, share of each scale
]
test_evaluator = val_evaluator

# For the model configs: `data_preprocessor=plate_data_preprocessor`. The
# shipped models' own (configs/_base_/models/recognizer_attn.py): BGR as
# OpenCV reads, so that a model built with this one reads a shipped
# checkpoint's channels in the order it was trained on.
plate_data_preprocessor = dict(
    type='PlateDataPreprocessor',
    mean=(127.5, 127.5, 127.5),
    std=(127.5, 127.5, 127.5),
    bgr_to_rgb=False,
    channels=3)
