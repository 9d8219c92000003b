using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using EtlStream.Security;
using EtlStream.Tables;

namespace EtlStream.Sources.S3;

/// <summary>
/// Lists and reads objects of one S3 bucket (AWSSDK.S3; MinIO and other S3-compatible servers too). Each object
/// streams through a <see cref="RangedReadStream"/>; every ranged GET asks for the ETag seen at listing (If-Match)
/// and checks the ETag it gets back, so a server that ignores If-Match still cannot mix versions. Names are
/// <c>s3://bucket/key</c>; no message this store raises carries the secret key.
/// </summary>
internal sealed class S3ObjectStore : ISourceStore
{
    private readonly S3ObjectStoreOptions _options;
    private readonly AmazonS3Client _client;

    /// <summary>Checks <paramref name="options"/> (a <see cref="ConfigException"/> lists every problem) and makes the client.</summary>
    public S3ObjectStore(S3ObjectStoreOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        _options = options;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            MaxErrorRetry = options.MaxRetries,
            RetryMode = RequestRetryMode.Standard,
            Timeout = options.Timeout,

            // S3-compatible servers do not all know the newer checksum headers; ranged reads cannot be checksummed anyway.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        if (options.Handler is { } handler)
        {
            config.HttpClientFactory = new HandlerClientFactory(handler);
        }

        if (options.SecretKey is { Length: > 0 } secret)
        {
            Redaction.Protect(secret);
            if (options.SessionToken is { Length: > 0 } token)
            {
                Redaction.Protect(token);
            }

            var credentials = options.SessionToken is { Length: > 0 } session
                ? (AWSCredentials)new SessionAWSCredentials(options.AccessKey, secret, session)
                : new BasicAWSCredentials(options.AccessKey, secret);
            _client = new AmazonS3Client(credentials, config);
        }
        else
        {
            _client = new AmazonS3Client(config);
        }

        Location = $"s3://{options.Bucket}/{options.Prefix}";
    }

    public string Location { get; }

    public async Task<IReadOnlyList<SourceFile>> ListAsync(string pattern, DateRange? dates, CancellationToken cancellationToken)
    {
        var selector = ObjectNamePattern.Parse(_options.Prefix + pattern);
        var files = new List<SourceFile>();
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = selector.Prefix };
        try
        {
            ListObjectsV2Response response;
            do
            {
                response = await _client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
                foreach (var o in response.S3Objects ?? [])
                {
                    if (selector.IsMatch(o.Key, dates))
                    {
                        files.Add(File(o.Key, o.Size ?? 0, o.ETag, o.LastModified is { } m ? new DateTimeOffset(DateTime.SpecifyKind(m, DateTimeKind.Utc).ToUniversalTime()) : null));
                    }
                }

                request.ContinuationToken = response.NextContinuationToken;
            }
            while (response.IsTruncated == true);
        }
        catch (AmazonServiceException e)
        {
            throw Failure($"s3://{_options.Bucket}/{selector}", e, etag: null);
        }
        catch (AmazonClientException e)
        {
            throw new SourceException($"s3://{_options.Bucket}/{selector}", SourceFailure.Failed, Redaction.Redact(e.Message));
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return files;
    }

    /// <summary>The store's answer as one clear failure naming the object, never with the SDK's message.</summary>
    private static SourceException Failure(string name, AmazonServiceException e, string? etag) => (e.StatusCode, e.ErrorCode) switch
    {
        (HttpStatusCode.NotFound, _) when etag is not null => SourceException.Gone(name, Unquoted(etag)),
        (HttpStatusCode.NotFound, var code) => new SourceException(name, SourceFailure.Missing, $"not found ({code})"),
        (HttpStatusCode.PreconditionFailed, _) => SourceException.Replaced(name, Unquoted(etag)),
        (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, var code) => new SourceException(name, SourceFailure.Denied, $"access denied ({(int)e.StatusCode} {code}): check the credentials"),
        var (status, code) => new SourceException(name, SourceFailure.Failed, $"the store answered {(int)status} {code}"),
    };

    private static string Unquoted(string? etag) => (etag ?? "").Trim('"');

    private async Task<bool> ExistsAsync(string key, CancellationToken token)
    {
        try
        {
            await _client.GetObjectMetadataAsync(_options.Bucket, key, token).ConfigureAwait(false);
            return true;
        }
        catch (AmazonServiceException e)
        {
            return e.StatusCode != HttpStatusCode.NotFound; // otherwise cannot tell: report the precondition failure as it came
        }
    }

    private SourceFile File(string key, long length, string etag, DateTimeOffset? lastModified)
    {
        var name = $"s3://{_options.Bucket}/{key}";
        var version = Unquoted(etag);
        return new SourceFile(name, length, version, _ => ValueTask.FromResult<Stream>(new RangedReadStream(length, _options.Reads, ReadRangeAsync)))
        {
            LastModified = lastModified,
        };

        async Task<Stream> ReadRangeAsync(long offset, int count, CancellationToken token)
        {
            GetObjectResponse response;
            try
            {
                response = await _client.GetObjectAsync(
                    new GetObjectRequest { BucketName = _options.Bucket, Key = key, ByteRange = new ByteRange(offset, offset + count - 1), EtagToMatch = etag },
                    token).ConfigureAwait(false);
            }
            catch (AmazonServiceException e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                throw await ExistsAsync(key, token).ConfigureAwait(false) ? Failure(name, e, etag) : SourceException.Gone(name, version);
            }
            catch (AmazonServiceException e)
            {
                throw Failure(name, e, etag);
            }

            // Servers that ignore If-Match (s3rver) still say which version they sent.
            if (Unquoted(response.ETag) != Unquoted(etag))
            {
                response.Dispose();
                throw SourceException.Replaced(name, version);
            }

            return response.ResponseStream;
        }
    }

    /// <summary>Gives the SDK HTTP clients over a given handler (tests put a fault-injecting one in the path).</summary>
    private sealed class HandlerClientFactory(HttpMessageHandler handler) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(handler, disposeHandler: false);

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }
}
