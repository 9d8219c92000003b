namespace EtlStream.Sources.S3;

/// <summary>
/// An S3 bucket (AWS, MinIO or another S3-compatible server) as a source. Without an access key the AWS SDK's
/// default chain is used (environment, profile, instance role). Validated once, before anything is listed.
/// </summary>
internal sealed record S3ObjectStoreOptions
{
    public required string Bucket { get; init; }

    /// <summary>A folder inside the bucket that every pattern is relative to (empty: the bucket).</summary>
    public string Prefix { get; init; } = "";

    /// <summary>The server for S3-compatible stores, e.g. <c>http://127.0.0.1:9000</c>; none for AWS itself.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Path-style URLs (<c>endpoint/bucket/key</c>), which MinIO and most S3-compatible servers need.</summary>
    public bool ForcePathStyle { get; init; }

    public string Region { get; init; } = "us-east-1";

    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    public string? SessionToken { get; init; }

    /// <summary>Retries of a failed request (the SDK's standard retry mode, with backoff).</summary>
    public int MaxRetries { get; init; } = 5;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    public RangedReadOptions Reads { get; init; } = new();

    /// <summary>Replaces the HTTP handler (tests inject faults with it).</summary>
    internal HttpMessageHandler? Handler { get; init; }

    /// <summary>Where each setting came from when not from a tenant's <c>source:</c> (<c>endpoint</c> → <c>S3_ENDPOINT</c>), so an error names it.</summary>
    internal IReadOnlyDictionary<string, string>? SettingNames { get; init; }

    /// <summary>Every problem, each with its path under <paramref name="path"/>; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate(string path = "source")
    {
        var errors = new List<string>();
        string Name(string setting) => SettingNames?.GetValueOrDefault(setting) ?? $"{path}.{setting}";
        if (string.IsNullOrWhiteSpace(Bucket))
        {
            errors.Add($"{path}.bucket: required");
        }

        if (Endpoint is not null && !Uri.TryCreate(Endpoint, UriKind.Absolute, out _))
        {
            errors.Add($"{Name("endpoint")}: not an absolute URL");
        }

        if (string.IsNullOrEmpty(AccessKey) != string.IsNullOrEmpty(SecretKey))
        {
            errors.Add(SettingNames is null ? $"{path}: access_key and secret_key go together" : $"{Name("access_key")} and {Name("secret_key")} go together");
        }

        if (string.IsNullOrWhiteSpace(Region))
        {
            errors.Add($"{Name("region")}: required");
        }

        if (MaxRetries < 0)
        {
            errors.Add($"{path}.max_retries: below 0");
        }

        errors.AddRange(Reads.Validate(path));
        return errors;
    }
}
