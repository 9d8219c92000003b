namespace EtlStream.Sources;

/// <summary>Why a source could not list or read an object.</summary>
public enum SourceFailure
{
    /// <summary>A listed object was gone when it was read.</summary>
    Missing,

    /// <summary>A listed object was replaced while it was read (its ETag changed): the file fails, versions are never mixed.</summary>
    Changed,

    /// <summary>The store refused the credentials or the access.</summary>
    Denied,

    /// <summary>Anything else the store answered, after its retries.</summary>
    Failed,
}

/// <summary>
/// A source failed to list or read: the message names the object (a display URL, never a secret) and says what
/// happened. The store's own exception is not attached, because SDK messages can carry request URLs and headers.
/// </summary>
public sealed class SourceException(string name, SourceFailure failure, string message) : IOException($"{name}: {message}")
{
    /// <summary>The object or listing location, e.g. <c>az://container/path</c>.</summary>
    public string Name { get; } = name;

    public SourceFailure Failure { get; } = failure;

    /// <summary>A listed object that was gone when read.</summary>
    public static SourceException Gone(string name, string version) =>
        new(name, SourceFailure.Missing, $"the object is gone (listed at version {version}, missing when read)");

    /// <summary>A listed object that another version replaced before or while it was read.</summary>
    public static SourceException Replaced(string name, string version) =>
        new(name, SourceFailure.Changed, $"the object changed while it was read (listed at version {version}, now another); the file fails rather than mixing versions");
}
