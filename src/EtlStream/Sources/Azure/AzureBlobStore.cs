using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using EtlStream.Security;
using EtlStream.Tables;

namespace EtlStream.Sources.Azure;

/// <summary>
/// Lists and reads blobs of one container (Azure.Storage.Blobs). Each blob streams through a
/// <see cref="RangedReadStream"/> whose ranged downloads are all pinned (If-Match) to the ETag seen at listing.
/// Names are <c>az://container/path</c>; no message this store raises carries a SAS signature or key.
/// </summary>
internal sealed class AzureBlobStore : ISourceStore
{
    private readonly AzureBlobStoreOptions _options;
    private readonly BlobContainerClient _container;

    /// <summary>Checks <paramref name="options"/> (a <see cref="ConfigException"/> lists every problem) and makes the client.</summary>
    public AzureBlobStore(AzureBlobStoreOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        _options = options;
        ProtectSecrets(options);
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.MaxDelay = options.MaxRetryDelay;
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        if (options.Handler is not null)
        {
            clientOptions.Transport = new HttpClientTransport(new HttpClient(options.Handler, disposeHandler: false));
        }

        var service = options.ConnectionString is { Length: > 0 } cs ? new BlobServiceClient(cs, clientOptions)
            : options.SasToken is { Length: > 0 } sas ? new BlobServiceClient(new Uri(options.AccountUrl!), new AzureSasCredential(sas.TrimStart('?')), clientOptions)
            : options.AccountKey is { Length: > 0 } key ? new BlobServiceClient(new Uri(options.AccountUrl!), new StorageSharedKeyCredential(new BlobUriBuilder(new Uri(options.AccountUrl!)).AccountName, key), clientOptions)
            : new BlobServiceClient(new Uri(options.AccountUrl!), new DefaultAzureCredential(), clientOptions);
        _container = service.GetBlobContainerClient(options.Container);
        Location = $"az://{options.Container}/{options.Prefix}";
    }

    public string Location { get; }

    public async Task<IReadOnlyList<SourceFile>> ListAsync(string pattern, DateRange? dates, CancellationToken cancellationToken)
    {
        var selector = ObjectNamePattern.Parse(_options.Prefix + pattern);
        var files = new List<SourceFile>();
        try
        {
            await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = selector.Prefix }, cancellationToken).ConfigureAwait(false))
            {
                if (selector.IsMatch(item.Name, dates))
                {
                    files.Add(File(item.Name, item.Properties.ContentLength ?? 0, item.Properties.ETag ?? default, item.Properties.LastModified));
                }
            }
        }
        catch (RequestFailedException e)
        {
            throw Failure($"az://{_options.Container}/{selector}", e, etag: null);
        }
        catch (AuthenticationFailedException e)
        {
            throw new SourceException($"az://{_options.Container}/{selector}", SourceFailure.Denied, $"cannot authenticate: {Redaction.Redact(e.Message)}");
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return files;
    }

    private static void ProtectSecrets(AzureBlobStoreOptions options)
    {
        foreach (var secret in new[] { options.SasToken, options.AccountKey })
        {
            if (!string.IsNullOrEmpty(secret))
            {
                Redaction.Protect(secret.TrimStart('?'));
            }
        }

        // The signature alone too, however the SDK re-encodes the rest of the token.
        foreach (var part in (options.SasToken ?? "").TrimStart('?').Split('&'))
        {
            if (part.StartsWith("sig=", StringComparison.Ordinal))
            {
                Redaction.Protect(part[4..]);
            }
        }

        foreach (var part in (options.ConnectionString ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part[..eq].Trim() is "AccountKey" or "SharedAccessSignature")
            {
                Redaction.Protect(part[(eq + 1)..].Trim());
            }
        }
    }

    /// <summary>The store's answer as one clear failure naming the object, never with the SDK's message (it can quote URLs).</summary>
    private static SourceException Failure(string name, RequestFailedException e, ETag? etag) => e.Status switch
    {
        404 when etag is not null => SourceException.Gone(name, etag.Value.ToString().Trim('"')),
        404 => new SourceException(name, SourceFailure.Missing, $"not found ({e.ErrorCode})"),
        412 => SourceException.Replaced(name, etag?.ToString().Trim('"') ?? ""),
        401 or 403 => new SourceException(name, SourceFailure.Denied, $"access denied ({e.Status} {e.ErrorCode}): check the credentials"),
        _ => new SourceException(name, SourceFailure.Failed, $"the store answered {e.Status} {e.ErrorCode}"),
    };

    private static async Task<bool> ExistsAsync(BlobClient blob, CancellationToken token)
    {
        try
        {
            return (await blob.ExistsAsync(token).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException)
        {
            return true; // cannot tell: report the precondition failure as it came
        }
    }

    private SourceFile File(string blobName, long length, ETag etag, DateTimeOffset? lastModified)
    {
        var name = $"az://{_options.Container}/{blobName}";
        var blob = _container.GetBlobClient(blobName);
        var pinned = new BlobRequestConditions { IfMatch = etag };
        var version = etag.ToString().Trim('"');
        return new SourceFile(name, length, version, _ => ValueTask.FromResult<Stream>(new RangedReadStream(length, _options.Reads, ReadRangeAsync)))
        {
            LastModified = lastModified,
        };

        async Task<Stream> ReadRangeAsync(long offset, int count, CancellationToken token)
        {
            try
            {
                var response = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, count), Conditions = pinned }, token).ConfigureAwait(false);
                return response.Value.Content;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // If-Match also fails when the blob is gone (Azurite answers 412 then): say which it is.
                throw await ExistsAsync(blob, token).ConfigureAwait(false) ? Failure(name, e, etag) : SourceException.Gone(name, version);
            }
            catch (RequestFailedException e)
            {
                throw Failure(name, e, etag);
            }
        }
    }
}
