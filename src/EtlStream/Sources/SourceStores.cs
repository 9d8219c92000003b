using EtlStream.Sources.Azure;
using EtlStream.Sources.Local;
using EtlStream.Sources.S3;
using EtlStream.Tables;

namespace EtlStream.Sources;

/// <summary>
/// Makes the source store an input or a tenant's <c>source:</c> names: a local folder, an Azure Blob container
/// (<c>az://container/path</c>) or an S3 bucket (<c>s3://bucket/key</c>). Settings map to options here and only here.
/// </summary>
public static class SourceStores
{
    /// <summary>The settings each kind accepts in a tenant's <c>source:</c> (besides <c>kind</c> and <c>path</c>).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> SettingsByKind = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["local"] = [],
        ["azure"] = ["container", "connection_string", "account_url", "sas_token", "account_key"],
        ["s3"] = ["bucket", "endpoint", "region", "path_style", "access_key", "secret_key"],
    };

    /// <summary>Whether <paramref name="input"/> is an object-store URL rather than a local path.</summary>
    public static bool IsObjectUrl(string input) =>
        input.StartsWith("az://", StringComparison.OrdinalIgnoreCase) || input.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The files a <c>load</c> input names, sorted: a local file, folder or glob, or an object-store URL with a
    /// prefix or glob whose credentials come from <paramref name="environment"/> (README: object-store inputs).
    /// Fails with <see cref="FileNotFoundException"/> when nothing matches.
    /// </summary>
    public static async Task<IReadOnlyList<SourceFile>> ListInputAsync(string input, Func<string, string?> environment, CancellationToken cancellationToken, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        if (!IsObjectUrl(input))
        {
            return LocalFileSource.List(input, logger);
        }

        var (store, pattern) = FromUrl(input, environment);
        var files = await store.ListAsync(pattern, null, cancellationToken).ConfigureAwait(false);
        return files.Count > 0 ? files : throw new FileNotFoundException($"{input}: matches no objects", input);
    }

    /// <summary>The store of an <c>az://</c> or <c>s3://</c> URL and the pattern inside it; credentials from the environment.</summary>
    public static (ISourceStore Store, string Pattern) FromUrl(string url, Func<string, string?> environment)
    {
        var scheme = url[..2].ToLowerInvariant();
        var rest = url[5..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var root = slash < 0 ? rest : rest[..slash];
        var pattern = slash < 0 ? "" : rest[(slash + 1)..];
        if (root.Length == 0)
        {
            throw new ConfigException([$"{url}: no {(scheme == "az" ? "container" : "bucket")} (expected {scheme}://<{(scheme == "az" ? "container" : "bucket")}>/<prefix or glob>)"]);
        }

        return scheme == "az" ? (new AzureBlobStore(AzureFromEnvironment(url, root, environment)), pattern) : (new S3ObjectStore(S3FromEnvironment(root, environment)), pattern);
    }

    /// <summary>Every problem of a tenant's <c>source:</c>, each with its path; empty when a store can be made from it.</summary>
    public static IReadOnlyList<string> Validate(string kind, string path, IReadOnlyDictionary<string, string> settings) => kind switch
    {
        "local" => path.Length == 0 ? ["source.path: required"] : [],
        "azure" => AzureFromSettings(path, settings).Validate(),
        "s3" => ValidateS3(path, settings),
        _ => [$"source.kind: '{kind}' is not supported (local, azure, s3)"],
    };

    /// <summary>
    /// The store of a tenant's <c>source:</c>: <paramref name="path"/> is the folder, or the prefix inside the container or
    /// bucket. <paramref name="reads"/> replaces the object stores' ranged-read blocks (small ones to read only a header).
    /// </summary>
    public static ISourceStore Create(string kind, string path, IReadOnlyDictionary<string, string> settings, RangedReadOptions? reads = null) => kind switch
    {
        "local" => new LocalFolderStore(path),
        "azure" => new AzureBlobStore(reads is null ? AzureFromSettings(path, settings) : AzureFromSettings(path, settings) with { Reads = reads }),
        "s3" => new S3ObjectStore(reads is null ? S3FromSettings(path, settings) : S3FromSettings(path, settings) with { Reads = reads }),
        _ => throw new ConfigException([$"source.kind: '{kind}' is not supported (local, azure, s3)"]),
    };

    /// <summary>
    /// Where a tenant's source lists from, without secrets, to tell tenants' sources apart: a full folder path, or the
    /// URL of the container or bucket (account or endpoint included) and the folder in it.
    /// </summary>
    public static string Location(string kind, string path, IReadOnlyDictionary<string, string> settings) => kind switch
    {
        "local" => Path.GetFullPath(path),
        "azure" => $"{AccountUrl(settings)}/{Setting(settings, "container")}/{Folder(path)}",
        "s3" => Setting(settings, "endpoint") is { } endpoint
            ? $"{endpoint.TrimEnd('/')}/{Setting(settings, "bucket")}/{Folder(path)}"
            : $"s3://{Setting(settings, "bucket")}/{Folder(path)}",
        _ => $"{kind}:{path}",
    };

    private static List<string> ValidateS3(string path, IReadOnlyDictionary<string, string> settings)
    {
        var errors = new List<string>();
        BoolSetting(settings, "path_style", out var error);
        if (error is not null)
        {
            errors.Add(error);
        }

        errors.AddRange(S3FromSettings(path, settings).Validate());
        return errors;
    }

    private static AzureBlobStoreOptions AzureFromEnvironment(string url, string container, Func<string, string?> environment)
    {
        var connectionString = environment("AZURE_STORAGE_CONNECTION_STRING");
        var urlVariable = environment("AZURE_STORAGE_ACCOUNT_URL") is not null ? "AZURE_STORAGE_ACCOUNT_URL" : "AZURE_STORAGE_ACCOUNT";
        var accountUrl = environment("AZURE_STORAGE_ACCOUNT_URL")
            ?? (environment("AZURE_STORAGE_ACCOUNT") is { Length: > 0 } account ? $"https://{account}.blob.core.windows.net" : null);
        if (string.IsNullOrEmpty(connectionString) && string.IsNullOrEmpty(accountUrl))
        {
            throw new ConfigException([$"{url}: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_URL (or AZURE_STORAGE_ACCOUNT) with AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_KEY, or neither for DefaultAzureCredential"]);
        }

        return new AzureBlobStoreOptions
        {
            Container = container,
            ConnectionString = string.IsNullOrEmpty(connectionString) ? null : connectionString,
            AccountUrl = string.IsNullOrEmpty(connectionString) ? accountUrl : null,
            SasToken = string.IsNullOrEmpty(connectionString) ? NullIfEmpty(environment("AZURE_STORAGE_SAS_TOKEN")) : null,
            AccountKey = string.IsNullOrEmpty(connectionString) ? NullIfEmpty(environment("AZURE_STORAGE_KEY")) : null,
            SettingNames = new Dictionary<string, string>
            {
                ["connection_string"] = "AZURE_STORAGE_CONNECTION_STRING", ["account_url"] = urlVariable,
                ["sas_token"] = "AZURE_STORAGE_SAS_TOKEN", ["account_key"] = "AZURE_STORAGE_KEY",
            },
        };
    }

    private static S3ObjectStoreOptions S3FromEnvironment(string bucket, Func<string, string?> environment)
    {
        string[] endpointVariables = ["S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"];
        var endpointVariable = Array.Find(endpointVariables, v => NullIfEmpty(environment(v)) is not null) ?? endpointVariables[0];
        var endpoint = NullIfEmpty(environment(endpointVariable));
        var pathStyle = environment("S3_FORCE_PATH_STYLE");
        return new S3ObjectStoreOptions
        {
            Bucket = bucket,
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
        };
    }

    private static AzureBlobStoreOptions AzureFromSettings(string path, IReadOnlyDictionary<string, string> settings) => new()
    {
        Container = Setting(settings, "container") ?? "",
        Prefix = Folder(path),
        ConnectionString = Setting(settings, "connection_string"),
        AccountUrl = Setting(settings, "account_url"),
        SasToken = Setting(settings, "sas_token"),
        AccountKey = Setting(settings, "account_key"),
    };

    private static S3ObjectStoreOptions S3FromSettings(string path, IReadOnlyDictionary<string, string> settings) => new()
    {
        Bucket = Setting(settings, "bucket") ?? "",
        Prefix = Folder(path),
        Endpoint = Setting(settings, "endpoint"),
        ForcePathStyle = BoolSetting(settings, "path_style", out _) ?? Setting(settings, "endpoint") is not null,
        Region = Setting(settings, "region") ?? "us-east-1",
        AccessKey = Setting(settings, "access_key"),
        SecretKey = Setting(settings, "secret_key"),
    };

    private static bool? BoolSetting(IReadOnlyDictionary<string, string> settings, string key, out string? error)
    {
        error = null;
        var text = Setting(settings, key);
        if (text is null)
        {
            return null;
        }

        if (bool.TryParse(text, out var value))
        {
            return value;
        }

        error = $"source.{key}: '{text}' is not true or false";
        return null;
    }

    /// <summary>The account URL a tenant's settings name (never with a key or token): the account URL, or the connection string's endpoint.</summary>
    private static string AccountUrl(IReadOnlyDictionary<string, string> settings)
    {
        if (Setting(settings, "account_url") is { } url)
        {
            return url.TrimEnd('/');
        }

        string? account = null;
        foreach (var part in (Setting(settings, "connection_string") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            switch (eq > 0 ? part[..eq].Trim() : "")
            {
                case "BlobEndpoint":
                    return part[(eq + 1)..].Trim().TrimEnd('/');
                case "AccountName":
                    account = part[(eq + 1)..].Trim();
                    break;
            }
        }

        return account is null ? "az:" : $"https://{account}.blob.core.windows.net";
    }

    private static string Folder(string path) => path.Length == 0 || path.EndsWith('/') ? path : path + "/";

    private static string? Setting(IReadOnlyDictionary<string, string> settings, string key) => settings.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
