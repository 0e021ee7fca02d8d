"""bind-training-command: a team's component's command line, its inputs bound by KFP.

The building block (:mod:`carbon_aware.kfp.pipelines.building_block`) gives this step the
component's inputs as its own and appends the component's command after ``--`` to its
arguments; KFP resolves the placeholders there exactly as it would for the component.
"""


def bind_training_command() -> list:
    """Returns the component's command with its inputs bound (read from this step's argv).

    Returns:
        The training command, as choose-region and the train step take it.
    """
    import sys

    from carbon_aware.training.binding import bind_command

    return bind_command(sys.argv)
