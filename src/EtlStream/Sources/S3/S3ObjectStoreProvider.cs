using EtlStream.Tenancy;

namespace EtlStream.Sources.S3;

/// <summary>
/// <c>kind: s3</c> tenants (a bucket on AWS or an S3-compatible server; <c>source.path</c> a folder in it) and
/// <c>s3://</c> inputs, whose credentials come from the environment (README: object-store inputs).
/// </summary>
internal sealed class S3ObjectStoreProvider() : ObjectStoreProvider(
    KindName, "s3", "bucket", ["bucket", "endpoint", "region", "path_style", "access_key", "secret_key"], ["secret_key"])
{
    /// <summary>The kind, for a component that reads the tenant's bucket itself (StarRocks' <c>--in-cluster</c>).</summary>
    public const string KindName = "s3";

    public override IReadOnlyList<(string Path, string Message)> Validate(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var errors = new List<string>();
        PathStyle(source.Settings, out var error);
        if (error is not null)
        {
            errors.Add(error);
        }

        errors.AddRange(Options(source).Validate());
        return Split(errors);
    }

    public override ISourceStore Create(SourceConfig source, RangedReadOptions? reads = null) =>
        new S3ObjectStore(reads is null ? Options(source) : Options(source) with { Reads = reads });

    /// <summary>The endpoint's URL (or <c>s3://</c> on AWS) with the bucket and folder.</summary>
    public override string Location(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Setting(source.Settings, "endpoint") is { } endpoint
            ? $"{endpoint.TrimEnd('/')}/{Setting(source.Settings, "bucket")}/{Folder(source.Path)}"
            : $"s3://{Setting(source.Settings, "bucket")}/{Folder(source.Path)}";
    }

    protected override ISourceStore CreateFromUrl(string url, string root, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string[] endpointVariables = ["S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"];
        var endpointVariable = Array.Find(endpointVariables, v => NullIfEmpty(environment(v)) is not null) ?? endpointVariables[0];
        var endpoint = NullIfEmpty(environment(endpointVariable));
        var pathStyle = environment("S3_FORCE_PATH_STYLE");
        return new S3ObjectStore(new S3ObjectStoreOptions
        {
            Bucket = root,
            Endpoint = endpoint,

            // S3-compatible servers (MinIO, s3rver) want path-style URLs; AWS itself virtual-hosted ones.
            ForcePathStyle = string.IsNullOrEmpty(pathStyle) ? endpoint is not null : pathStyle is "1" || pathStyle.Equals("true", StringComparison.OrdinalIgnoreCase),
            Region = NullIfEmpty(environment("AWS_REGION")) ?? NullIfEmpty(environment("AWS_DEFAULT_REGION")) ?? "us-east-1",
            AccessKey = NullIfEmpty(environment("AWS_ACCESS_KEY_ID")),
            SecretKey = NullIfEmpty(environment("AWS_SECRET_ACCESS_KEY")),
            SessionToken = NullIfEmpty(environment("AWS_SESSION_TOKEN")),
            SettingNames = new Dictionary<string, string>
            {
                ["endpoint"] = endpointVariable, ["region"] = "AWS_REGION", ["access_key"] = "AWS_ACCESS_KEY_ID", ["secret_key"] = "AWS_SECRET_ACCESS_KEY",
            },
        });
    }

    private static S3ObjectStoreOptions Options(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var settings = source.Settings;
        return new()
        {
            Bucket = Setting(settings, "bucket") ?? "",
            Prefix = Folder(source.Path),
            Endpoint = Setting(settings, "endpoint"),
            ForcePathStyle = PathStyle(settings, out _) ?? Setting(settings, "endpoint") is not null,
            Region = Setting(settings, "region") ?? "us-east-1",
            AccessKey = Setting(settings, "access_key"),
            SecretKey = Setting(settings, "secret_key"),
        };
    }

    private static bool? PathStyle(IReadOnlyDictionary<string, string> settings, out string? error)
    {
        error = null;
        var text = Setting(settings, "path_style");
        if (text is null)
        {
            return null;
        }

        if (bool.TryParse(text, out var value))
        {
            return value;
        }

        error = $"source.path_style: '{text}' is not true or false";
        return null;
    }
}
