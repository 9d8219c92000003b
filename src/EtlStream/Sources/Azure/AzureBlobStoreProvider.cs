using EtlStream.Tables;
using EtlStream.Tenancy;

namespace EtlStream.Sources.Azure;

/// <summary>
/// <c>kind: azure</c> tenants (an Azure Blob container; <c>source.path</c> a folder in it) and <c>az://</c> inputs,
/// whose credentials come from the environment (README: object-store inputs).
/// </summary>
internal sealed class AzureBlobStoreProvider() : ObjectStoreProvider(
    KindName, "az", "container", ["container", "connection_string", "account_url", "sas_token", "account_key"], ["connection_string", "sas_token", "account_key"])
{
    /// <summary>The kind, for a component that reads the tenant's container itself (StarRocks' <c>--in-cluster</c>).</summary>
    public const string KindName = "azure";

    public override IReadOnlyList<(string Path, string Message)> Validate(SourceConfig source) => Split(Options(source).Validate());

    public override ISourceStore Create(SourceConfig source, RangedReadOptions? reads = null) =>
        new AzureBlobStore(reads is null ? Options(source) : Options(source) with { Reads = reads });

    /// <summary>The account URL (never with a key or token) and the container and folder.</summary>
    public override string Location(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return $"{AccountUrl(source.Settings)}/{Setting(source.Settings, "container")}/{Folder(source.Path)}";
    }

    protected override ISourceStore CreateFromUrl(string url, string root, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var connectionString = environment("AZURE_STORAGE_CONNECTION_STRING");
        var urlVariable = environment("AZURE_STORAGE_ACCOUNT_URL") is not null ? "AZURE_STORAGE_ACCOUNT_URL" : "AZURE_STORAGE_ACCOUNT";
        var accountUrl = environment("AZURE_STORAGE_ACCOUNT_URL")
            ?? (environment("AZURE_STORAGE_ACCOUNT") is { Length: > 0 } account ? $"https://{account}.blob.core.windows.net" : null);
        if (string.IsNullOrEmpty(connectionString) && string.IsNullOrEmpty(accountUrl))
        {
            throw new ConfigException([$"{url}: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_URL (or AZURE_STORAGE_ACCOUNT) with AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_KEY, or neither for DefaultAzureCredential"]);
        }

        return new AzureBlobStore(new AzureBlobStoreOptions
        {
            Container = root,
            ConnectionString = string.IsNullOrEmpty(connectionString) ? null : connectionString,
            AccountUrl = string.IsNullOrEmpty(connectionString) ? accountUrl : null,
            SasToken = string.IsNullOrEmpty(connectionString) ? NullIfEmpty(environment("AZURE_STORAGE_SAS_TOKEN")) : null,
            AccountKey = string.IsNullOrEmpty(connectionString) ? NullIfEmpty(environment("AZURE_STORAGE_KEY")) : null,
            SettingNames = new Dictionary<string, string>
            {
                ["connection_string"] = "AZURE_STORAGE_CONNECTION_STRING", ["account_url"] = urlVariable,
                ["sas_token"] = "AZURE_STORAGE_SAS_TOKEN", ["account_key"] = "AZURE_STORAGE_KEY",
            },
        });
    }

    private static AzureBlobStoreOptions Options(SourceConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var settings = source.Settings;
        return new()
        {
            Container = Setting(settings, "container") ?? "",
            Prefix = Folder(source.Path),
            ConnectionString = Setting(settings, "connection_string"),
            AccountUrl = Setting(settings, "account_url"),
            SasToken = Setting(settings, "sas_token"),
            AccountKey = Setting(settings, "account_key"),
        };
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
}
