using Azure.Storage.Blobs;
using EtlStream.Sources;
using EtlStream.Sources.Azure;
using EtlStream.Sources.S3;

namespace EtlStream.Sinks.StarRocks;

/// <summary>One <c>FILES()</c> property; a <see cref="Secret"/> value is shown as <c>***</c> in plans and errors.</summary>
internal readonly record struct FilesProperty(string Key, string Value, bool Secret = false);

/// <summary>
/// Where the cluster reads a tenant's objects and with which credentials: the <c>FILES()</c> path of each object
/// (<c>wasbs://container@account.blob.core.windows.net/blob</c>, <c>s3://bucket/key</c>) and the credential
/// properties (<c>azure.blob.*</c>, <c>aws.s3.*</c>). Made from the tenant's <c>source:</c> settings; a source the
/// cluster cannot be given credentials for is a problem listed before anything is submitted.
/// </summary>
internal sealed class InClusterStorage
{
    private readonly string _root;

    private InClusterStorage(string root, IReadOnlyList<FilesProperty> credentials)
    {
        _root = root;
        Credentials = credentials;
    }

    public IReadOnlyList<FilesProperty> Credentials { get; }

    /// <summary>The storage of a tenant's source, or null with the reasons in <paramref name="problems"/>.</summary>
    public static InClusterStorage? From(string kind, IReadOnlyDictionary<string, string> settings, List<string> problems)
    {
        // The stores whose objects the cluster can be given credentials for, asked of the store registry by type.
        const string supported = $"{AzureBlobStoreProvider.KindName} or {S3ObjectStoreProvider.KindName}";
        switch (SourceStoreRegistry.ForKind(kind))
        {
            case AzureBlobStoreProvider:
                return Azure(settings, problems);
            case S3ObjectStoreProvider:
                return S3(settings, problems);
            case { OnThisMachine: true }:
                problems.Add($"source.kind: {kind}: the cluster cannot read this machine's files (use an {supported} source)");
                return null;
            default:
                problems.Add($"source.kind: {kind}: not supported by --in-cluster ({AzureBlobStoreProvider.KindName}, {S3ObjectStoreProvider.KindName})");
                return null;
        }
    }

    /// <summary>The object's path as <c>FILES()</c> takes it.</summary>
    public string PathOf(SourceFile file)
    {
        // Source names are <scheme>://<container or bucket>/<key>: the part after the container or bucket.
        var scheme = file.Name.IndexOf("://", StringComparison.Ordinal);
        var rest = scheme < 0 ? file.Name : file.Name[(scheme + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var key = slash < 0 ? rest : rest[(slash + 1)..];
        return _root + key;
    }

    private static InClusterStorage? Azure(IReadOnlyDictionary<string, string> settings, List<string> problems)
    {
        var container = Setting(settings, "container");
        string? account = null, key = null, sas = null;
        if (Setting(settings, "connection_string") is { } cs)
        {
            foreach (var part in cs.Split(';', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    continue;
                }

                var value = part[(eq + 1)..].Trim();
                switch (part[..eq].Trim())
                {
                    case "AccountName": account = value; break;
                    case "AccountKey": key = value; break;
                    case "SharedAccessSignature": sas = value; break;
                    case "BlobEndpoint": account ??= AccountOf(value); break;
                }
            }
        }

        if (Setting(settings, "account_url") is { } url)
        {
            account ??= AccountOf(url);
        }

        key ??= Setting(settings, "account_key");
        sas ??= Setting(settings, "sas_token");
        if (container is null)
        {
            problems.Add("source.container: required");
        }

        if (account is null)
        {
            problems.Add("source: no storage account name (account_url or connection_string)");
        }

        if (key is null && sas is null)
        {
            problems.Add("source: no account_key or sas_token: the cluster cannot use this machine's Azure identity (DefaultAzureCredential); give it a key or a SAS token");
        }

        if (container is null || account is null || (key is null && sas is null))
        {
            return null;
        }

        // A shared key when there is one (it reads every container); else the container's SAS token.
        IReadOnlyList<FilesProperty> credentials = key is not null
            ? [new("azure.blob.storage_account", account), new("azure.blob.shared_key", key, Secret: true)]
            : [new("azure.blob.storage_account", account), new("azure.blob.container", container), new("azure.blob.sas_token", sas!.TrimStart('?'), Secret: true)];
        return new InClusterStorage($"wasbs://{container}@{account}.blob.core.windows.net/", credentials);
    }

    private static InClusterStorage? S3(IReadOnlyDictionary<string, string> settings, List<string> problems)
    {
        var bucket = Setting(settings, "bucket");
        var accessKey = Setting(settings, "access_key");
        var secretKey = Setting(settings, "secret_key");
        if (bucket is null)
        {
            problems.Add("source.bucket: required");
        }

        if (accessKey is null || secretKey is null)
        {
            problems.Add("source: no access_key and secret_key: the cluster cannot use this machine's AWS identity; give it keys");
        }

        if (bucket is null || accessKey is null || secretKey is null)
        {
            return null;
        }

        var credentials = new List<FilesProperty>
        {
            new("aws.s3.region", Setting(settings, "region") ?? "us-east-1"),
            new("aws.s3.access_key", accessKey),
            new("aws.s3.secret_key", secretKey, Secret: true),
        };
        if (Setting(settings, "endpoint") is { } endpoint)
        {
            credentials.Add(new("aws.s3.endpoint", endpoint));
            var pathStyle = Setting(settings, "path_style");
            credentials.Add(new("aws.s3.enable_path_style_access", pathStyle is null || pathStyle.Equals("true", StringComparison.OrdinalIgnoreCase) ? "true" : "false"));
        }

        return new InClusterStorage($"s3://{bucket}/", credentials);
    }

    /// <summary>The account of an account URL, virtual-host style (<c>acct.blob.core.windows.net</c>) or path style (<c>127.0.0.1:10000/acct</c>).</summary>
    private static string? AccountOf(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && new BlobUriBuilder(uri).AccountName is { Length: > 0 } account ? account : null;

    private static string? Setting(IReadOnlyDictionary<string, string> settings, string key) => settings.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
}
