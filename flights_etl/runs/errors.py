"""What a failed step says, as a user should read it."""


def own_message(error) -> str:
    """The error a solid raised, not Dagster's wrapper around it, from a step failure's error info
    (``message``, ``cls_name``, ``cause``); a ``Failure`` without its class prefix."""
    while error.cause is not None and "DagsterExecutionStepExecutionError" in error.message:
        error = error.cause
    message = error.message.strip()
    if error.cls_name == "Failure":
        message = message.split(": ", 1)[-1]
    return message
