namespace EtlStream.Sources.Azure;

/// <summary>
/// An Azure Blob container as a source, and how to authenticate: a connection string; or an account URL with a SAS
/// token, or with an account key, or alone (then <c>DefaultAzureCredential</c>: managed identity, workload identity,
/// Azure CLI…). Validated once, before anything is listed.
/// </summary>
public sealed record AzureBlobStoreOptions
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

    /// <summary>Every problem, each with its path under <paramref name="path"/>; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate(string path = "source")
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Container))
        {
            errors.Add($"{path}.container: required");
        }

        var hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
        var hasUrl = !string.IsNullOrWhiteSpace(AccountUrl);
        if (hasConnectionString == hasUrl)
        {
            errors.Add($"{path}: give either connection_string or account_url (with sas_token, account_key, or neither for DefaultAzureCredential)");
        }

        if (hasUrl && !Uri.TryCreate(AccountUrl, UriKind.Absolute, out _))
        {
            errors.Add($"{path}.account_url: not an absolute URL");
        }

        if (hasUrl && (AccountUrl!.Contains("sig=", StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add($"{path}.account_url: holds a SAS signature; give the token as sas_token");
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
            errors.Add($"{path}.max_retries: below 0");
        }

        errors.AddRange(Reads.Validate(path));
        return errors;
    }
}
