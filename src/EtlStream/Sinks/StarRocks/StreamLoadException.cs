namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// A load or transaction step that did not commit: what a caller needs to act on it (label, HTTP status, Stream
/// Load status and message, error URL). Never carries the password. <see cref="IsTransient"/>: a rerun may succeed.
/// </summary>
public sealed class StreamLoadException : Exception
{
    public StreamLoadException(string message, string label, int? httpStatus = null, string? status = null, string? errorUrl = null, bool isTransient = false)
        : base(message)
    {
        Label = label;
        HttpStatus = httpStatus;
        Status = status;
        ErrorUrl = errorUrl;
        IsTransient = isTransient;
    }

    public StreamLoadException()
        : this("Stream Load failed", string.Empty)
    {
    }

    public StreamLoadException(string message)
        : this(message, string.Empty)
    {
    }

    public StreamLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
        Label = string.Empty;
    }

    public string Label { get; }

    public int? HttpStatus { get; }

    public string? Status { get; }

    public string? ErrorUrl { get; }

    public bool IsTransient { get; }
}
