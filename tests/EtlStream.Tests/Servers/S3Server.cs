using Amazon.Runtime;
using Amazon.S3;

namespace EtlStream.Tests.Servers;

/// <summary>
/// s3rver (npm <c>s3rver</c>), an S3-compatible server, on a free loopback port with its data in a temp folder,
/// started once for the tests that share it (<see cref="S3Collection"/>). Credentials are s3rver's defaults.
/// </summary>
public sealed class S3Server : IAsyncLifetime
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    private ServerProcess? _server;

    public int Port { get; private set; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>A client for setting up and changing objects (path-style, no newer checksum headers).</summary>
    public AmazonS3Client Client() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public async Task InitializeAsync()
    {
        var s3rver = ServerProcess.Require("npm install -g s3rver@3", "s3rver");
        var folder = ServerProcess.NewFolder("s3rver");
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(data);
        Port = ServerProcess.FreePort();
        _server = await ServerProcess.StartAsync("s3rver", s3rver,
            ["--address", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--directory", data, "--silent"],
            folder,
            async () =>
            {
                using var client = Client();
                await client.ListBucketsAsync();
                return true;
            });
    }

    /// <summary>A fresh, empty bucket with a unique name.</summary>
    public async Task<string> CreateBucketAsync(string prefix = "t")
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        using var client = Client();
        await client.PutBucketAsync(name);
        return name;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Test classes in this collection share one s3rver.</summary>
[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Server>
{
    public const string Name = "S3";
}
