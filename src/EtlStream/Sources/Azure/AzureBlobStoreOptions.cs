namespace EtlStream.Sources.Azure;

/// <summary>
/// An Azure Blob container as a source, and how to authenticate: a connection string; or an account URL with a SAS
/// token, or with an account key, or alone (then <c>DefaultAzureCredential</c>: managed identity, workload identity,
/// Azure CLI…). Validated once, before anything is listed.
/// </summary>
internal sealed record AzureBlobStoreOptions
{
    public required string Container { get; init; }

    /// <summary>A folder inside the container that every pattern is relative to (empty: the container).</summary>
    public string Prefix { get; init; } = "";

    public string? ConnectionString { get; init; }

    /// <summary>e.g. <c>https://account.blob.core.windows.net</c> or Azurite's <c>http://127.0.0.1:10000/devstoreaccount1</c>.</summary>
    public string? AccountUrl { get; init; }

    public string? SasToken { get; init; }

    public string? AccountKey { get; init; }

    /// <summary>Retries of a failed request (Azure.Core's exponential policy).</summary>
    public int MaxRetries { get; init; } = 5;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one request may wait on the network before it is retried.</summary>
    public TimeSpan NetworkTimeout { get; init; } = TimeSpan.FromSeconds(100);

    public RangedReadOptions Reads { get; init; } = new();

    /// <summary>Replaces the HTTP handler (tests inject faults with it).</summary>
    internal HttpMessageHandler? Handler { get; init; }

    /// <summary>
    /// Where each setting came from when not from a tenant's <c>source:</c> (<c>account_key</c> →
    /// <c>AZURE_STORAGE_KEY</c>), so an error names what the user set; never a value.
    /// </summary>
    internal IReadOnlyDictionary<string, string>? SettingNames { get; init; }

    /// <summary>Every problem, each with its path under <paramref name="path"/>; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate(string path = "source")
    {
        var errors = new List<string>();
        string Name(string setting) => SettingNames?.GetValueOrDefault(setting) ?? $"{path}.{setting}";
        if (string.IsNullOrWhiteSpace(Container))
        {
            errors.Add($"{Name("container")}: required");
        }

        var hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
        var hasUrl = !string.IsNullOrWhiteSpace(AccountUrl);
        if (hasConnectionString == hasUrl)
        {
            errors.Add($"{path}: give either connection_string or account_url (with sas_token, account_key, or neither for DefaultAzureCredential)");
        }

        if (hasUrl && !Uri.TryCreate(AccountUrl, UriKind.Absolute, out _))
        {
            errors.Add($"{Name("account_url")}: not an absolute URL");
        }

        if (hasUrl && (AccountUrl!.Contains("sig=", StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add($"{Name("account_url")}: holds a SAS signature; give the token as {Name("sas_token")}");
        }

        // The SDK would fail later with its own text ("not a valid Base-64 string"), naming no setting.
        if (!string.IsNullOrEmpty(AccountKey) && !IsBase64(AccountKey))
        {
            errors.Add($"{Name("account_key")}: not an account key (an account key is base64 text, as the portal shows it under Access keys)");
        }

        if (hasConnectionString && ConnectionStringProblem(ConnectionString!) is { } problem)
        {
            errors.Add($"{Name("connection_string")}: {problem}");
        }

        if (!string.IsNullOrEmpty(SasToken) && !string.IsNullOrEmpty(AccountKey))
        {
            errors.Add($"{path}: give sas_token or account_key, not both");
        }

        if ((!string.IsNullOrEmpty(SasToken) || !string.IsNullOrEmpty(AccountKey)) && hasConnectionString)
        {
            errors.Add($"{path}: a connection string carries its own credentials; sas_token and account_key go with account_url");
        }

        if (MaxRetries < 0)
        {
            errors.Add($"{Name("max_retries")}: below 0");
        }

        errors.AddRange(Reads.Validate(path));
        return errors;
    }

    private static bool IsBase64(string text) => Convert.TryFromBase64String(text.Trim(), new byte[text.Length], out _);

    /// <summary>
    /// Why the SDK cannot use a connection string, in words that never quote it (all of it may be secret), or null.
    /// The SDK parses it; its exception text is not passed on.
    /// </summary>
    private static string? ConnectionStringProblem(string connectionString)
    {
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part[..eq].Trim() == "AccountKey" && !IsBase64(part[(eq + 1)..]))
            {
                return "its AccountKey is not an account key (an account key is base64 text, as the portal shows it under Access keys)";
            }
        }

        try
        {
            _ = new global::Azure.Storage.Blobs.BlobServiceClient(connectionString);
            return null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return "not an Azure Storage connection string (expected AccountName=…;AccountKey=…;… or BlobEndpoint=…;SharedAccessSignature=…, as the portal shows it)";
        }
    }
}
