"""train: fit the classifier and measure the energy the training used."""

from typing import NamedTuple

from kfp.dsl import Model, Output


def train(
    data_uri: str,
    label_column: str,
    epochs: int,
    seed: int,
    region: str,
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    model: Output[Model],
    dedupe: str = "none",
    keep_columns: str = "",
    mixed_precision: bool = False,
    export_compressed: bool = False,
) -> NamedTuple("TrainOutputs", model_uri=str, run_record_json=str):
    """Trains the Keras classifier while measuring its energy.

    Runs in-process for the local backend and inside a Vertex AI custom job in the chosen region
    for the vertex backend (the same code either way).

    Args:
        data_uri: CSV at a local path or gs:// URI; empty for the bundled scikit-learn dataset.
        label_column: Column holding the class label.
        epochs: Maximum training epochs (early stopping may end sooner).
        seed: Random seed for the split and the weights.
        region: Region the job runs in, recorded with the energy measurement.
        machine_type: Machine type, for the energy estimate when it cannot be measured.
        accelerator_type: Accelerator type, for the record and the energy estimate.
        accelerator_count: Accelerator count, for the record and the energy estimate.
        model: The trained model, its preprocessing, held-out test split and run record.
        dedupe: Drop duplicate rows before the split: ``none``, ``exact`` (rows identical in
            every kept column) or ``key:<column>`` (first row per key).
        keep_columns: Comma-separated feature columns to keep (the label is always kept); empty
            keeps all.
        mixed_precision: Train with Keras ``mixed_float16`` if a GPU is present (recorded as
            float32 when there is none).
        export_compressed: Also write float32, float16 and int8 TFLite copies of the model,
            which evaluate then measures.

    Returns:
        model_uri: Where the model directory is.
        run_record_json: The run record (times, machine, energy in kWh and how it was measured,
            data efficiency, precision, compressed export).
    """
    import json

    from trainer.train import TrainConfig
    from trainer.train import train as run_training

    result = run_training(
        TrainConfig(
            data_uri=data_uri,
            label_column=label_column,
            output_dir=model.path,
            epochs=epochs,
            seed=seed,
            region=region,
            machine_type=machine_type,
            accelerator_type=accelerator_type,
            accelerator_count=accelerator_count,
            dedupe=dedupe,
            keep_columns=keep_columns,
            mixed_precision=mixed_precision,
            export_compressed=export_compressed,
        )
    )
    model.metadata["framework"] = "keras"
    model.metadata["energy_kwh"] = result.run_record["energy"]["total_kwh"]
    return (model.uri, json.dumps(result.run_record, sort_keys=True))
