using Amazon.S3.Model;
using EtlStream.Sources;
using EtlStream.Sources.Azure;
using EtlStream.Sources.Local;
using EtlStream.Sources.S3;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sources;

/// <summary>A temp folder of spaces (subfolders) for the local folder store; deleted with the test class.</summary>
public sealed class LocalFolderBench : ISourceBench, IDisposable
{
    private readonly TempDirectory _root = new();

    public object Key => this;

    public Task<string> NewSpaceAsync()
    {
        var space = Guid.NewGuid().ToString("N");
        Directory.CreateDirectory(_root.File(space));
        return Task.FromResult(space);
    }

    public ISourceStore Store(string space, RangedReadOptions reads, HttpMessageHandler? handler = null) => new LocalFolderStore(_root.File(space));

    public async Task PutAsync(string space, string name, byte[] content)
    {
        var path = Path.Combine(_root.File(space), name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, content);
    }

    public Task DeleteAsync(string space, string name)
    {
        File.Delete(Path.Combine(_root.File(space), name));
        return Task.CompletedTask;
    }

    public string DisplayName(string space, string name) => _root.File(space) + Path.DirectorySeparatorChar + name.Replace('/', Path.DirectorySeparatorChar);

    public void Dispose() => _root.Dispose();
}

/// <summary>Containers of the shared Azurite.</summary>
public sealed class AzuriteBench(AzuriteServer server) : ISourceBench
{
    public object Key => server;

    public async Task<string> NewSpaceAsync() => (await server.CreateContainerAsync("contract")).Name;

    public ISourceStore Store(string space, RangedReadOptions reads, HttpMessageHandler? handler = null) => new AzureBlobStore(new AzureBlobStoreOptions
    {
        Container = space,
        ConnectionString = server.ConnectionString,
        Reads = reads,
        Handler = handler,
        RetryDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
    });

    public async Task PutAsync(string space, string name, byte[] content) =>
        await server.Client().GetBlobContainerClient(space).GetBlobClient(name).UploadAsync(BinaryData.FromBytes(content), overwrite: true);

    public async Task DeleteAsync(string space, string name) => await server.Client().GetBlobContainerClient(space).DeleteBlobAsync(name);

    public string DisplayName(string space, string name) => $"az://{space}/{name}";
}

/// <summary>Buckets of the shared s3rver.</summary>
public sealed class S3Bench(S3Server server) : ISourceBench
{
    public object Key => server;

    public Task<string> NewSpaceAsync() => server.CreateBucketAsync("contract");

    public ISourceStore Store(string space, RangedReadOptions reads, HttpMessageHandler? handler = null) => new S3ObjectStore(new S3ObjectStoreOptions
    {
        Bucket = space,
        Endpoint = server.Endpoint,
        ForcePathStyle = true,
        AccessKey = S3Server.AccessKey,
        SecretKey = S3Server.SecretKey,
        Reads = reads,
        Handler = handler,
    });

    public async Task PutAsync(string space, string name, byte[] content)
    {
        using var client = server.Client();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = space, Key = name, InputStream = new MemoryStream(content), UseChunkEncoding = false });
    }

    public async Task DeleteAsync(string space, string name)
    {
        using var client = server.Client();
        await client.DeleteObjectAsync(space, name);
    }

    public string DisplayName(string space, string name) => $"s3://{space}/{name}";
}

/// <summary>The source contract on a local folder.</summary>
public sealed class LocalFolderStoreTests(LocalFolderBench bench) : SourceStoreContractTests, IClassFixture<LocalFolderBench>
{
    protected override ISourceBench Bench => bench;
}

/// <summary>The source contract on Azure Blob Storage (Azurite).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStoreTests(AzuriteServer server) : ObjectStoreContractTests
{
    protected override ISourceBench Bench { get; } = new AzuriteBench(server);

    protected override string DeniedMessage => "access denied (403 AuthorizationFailure): check the credentials";

    protected override (ISourceStore Store, string Secret) StoreWithWrongSecret(string space)
    {
        var wrongKey = Convert.ToBase64String(System.Security.Cryptography.SHA512.HashData("not the key"u8));
        return (new AzureBlobStore(new AzureBlobStoreOptions { Container = space, AccountUrl = server.AccountUrl, AccountKey = wrongKey, MaxRetries = 0 }), wrongKey);
    }
}

/// <summary>The source contract on an S3-compatible server (s3rver).</summary>
[Collection(S3Collection.Name)]
public sealed class S3ObjectStoreTests(S3Server server) : ObjectStoreContractTests
{
    protected override ISourceBench Bench { get; } = new S3Bench(server);

    protected override string DeniedMessage => "access denied (403 InvalidAccessKeyId): check the credentials";

    /// <remarks>s3rver checks the access key but not SigV4 signatures, so the refusal comes from an unknown key.</remarks>
    protected override (ISourceStore Store, string Secret) StoreWithWrongSecret(string space)
    {
        const string WrongSecret = "wrong-secret-key-7c1e3f9a";
        return (new S3ObjectStore(new S3ObjectStoreOptions { Bucket = space, Endpoint = server.Endpoint, ForcePathStyle = true, AccessKey = "UNKNOWNKEY", SecretKey = WrongSecret, MaxRetries = 0 }), WrongSecret);
    }
}
