using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Sas;

namespace EtlStream.Tests.Servers;

/// <summary>
/// Azurite's blob service (npm <c>azurite</c>, <c>azurite-blob</c>) in memory on a free loopback port, started once
/// for the tests that share it (<see cref="AzuriteCollection"/>), with Azurite's well-known development account.
/// </summary>
public sealed class AzuriteServer : IAsyncLifetime
{
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's published development key (not a secret; the same in every Azurite).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private ServerProcess? _server;

    public int Port { get; private set; }

    public string AccountUrl => $"http://127.0.0.1:{Port}/{AccountName}";

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={AccountUrl};";

    public BlobServiceClient Client() => new(ConnectionString);

    public async Task InitializeAsync()
    {
        var azurite = ServerProcess.Require("npm install -g azurite@3", "azurite-blob");
        var folder = ServerProcess.NewFolder("azurite");
        Port = ServerProcess.FreePort();
        _server = await ServerProcess.StartAsync("azurite", azurite,
            ["--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--skipApiVersionCheck", "--loose", "--silent"],
            folder,
            async () =>
            {
                await Client().GetPropertiesAsync();
                return true;
            });
    }

    /// <summary>A fresh, empty container with a unique name.</summary>
    public async Task<BlobContainerClient> CreateContainerAsync(string prefix = "t")
    {
        var container = Client().GetBlobContainerClient($"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)]);
        await container.CreateAsync();
        return container;
    }

    /// <summary>A container SAS (read and list) signed with the account key, as a tenant would be given one.</summary>
    public static string ReadListSas(string container)
    {
        var sas = new BlobSasBuilder(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(2))
        {
            BlobContainerName = container,
            Resource = "c",
        };
        return sas.ToSasQueryParameters(new StorageSharedKeyCredential(AccountName, AccountKey)).ToString();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Test classes in this collection share one Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteServer>
{
    public const string Name = "Azurite";
}
