using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sources;

/// <summary>
/// Malformed object-store credentials, from the environment and from a tenant: each fails before anything is listed
/// (exit 2), naming the variable or setting that holds it and never its value.
/// </summary>
public sealed class SourceSettingErrorTests : IDisposable
{
    private const string KeyHint = "an account key is base64 text, as the portal shows it under Access keys";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<Dictionary<string, string>, string, string> Malformed => new()
    {
        {
            new() { ["AZURE_STORAGE_ACCOUNT_URL"] = "http://127.0.0.1:9/acct", ["AZURE_STORAGE_KEY"] = "not-base64!secret-7f3a" },
            "az://c/in/", $"error: AZURE_STORAGE_KEY: not an account key ({KeyHint})\n"
        },
        {
            new() { ["AZURE_STORAGE_CONNECTION_STRING"] = "garbage-secret-7f3a" },
            "az://c/in/", "error: AZURE_STORAGE_CONNECTION_STRING: not an Azure Storage connection string (expected AccountName=…;AccountKey=…;… or BlobEndpoint=…;SharedAccessSignature=…, as the portal shows it)\n"
        },
        {
            new() { ["AZURE_STORAGE_CONNECTION_STRING"] = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=not-base64!secret-7f3a;EndpointSuffix=core.windows.net" },
            "az://c/in/", $"error: AZURE_STORAGE_CONNECTION_STRING: its AccountKey is not an account key ({KeyHint})\n"
        },
        {
            new() { ["AZURE_STORAGE_ACCOUNT"] = "bad account", ["AZURE_STORAGE_SAS_TOKEN"] = "sv=1&sig=secret-7f3a" },
            "az://c/in/", "error: AZURE_STORAGE_ACCOUNT: not an absolute URL\n"
        },
        {
            new() { ["S3_ENDPOINT"] = "not a url secret-7f3a" },
            "s3://b/in/", "error: S3_ENDPOINT: not an absolute URL\n"
        },
        {
            new() { ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9", ["AWS_ACCESS_KEY_ID"] = "AKIA-secret-7f3a" },
            "s3://b/in/", "error: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together\n"
        },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task A_malformed_credential_in_the_environment_names_its_variable_and_not_its_value(Dictionary<string, string> environment, string input, string expected)
    {
        var (code, stdout, stderr) = await ObjectStoreCli.RunAsync(_dir.Path, environment, "load", input, "--to", $"parquet:{_dir.File("x.parquet")}");

        Assert.Equal((2, "", expected), (code, stdout, stderr));
        Assert.DoesNotContain("secret-7f3a", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("account_url: \"http://127.0.0.1:9/acct\", account_key: \"not-base64!secret-7f3a\"", "source.account_key: not an account key (" + KeyHint + ")")]
    [InlineData("connection_string: \"AccountName=acct;AccountKey=not-base64!secret-7f3a\"", "source.connection_string: its AccountKey is not an account key (" + KeyHint + ")")]
    public void A_malformed_tenant_credential_names_its_setting_and_not_its_value(string settings, string expected)
    {
        var root = DealersTenant.Write(Path.Combine(_dir.Path, "configs"), $"{{ kind: azure, container: drops, {settings} }}", $"{{ kind: duckdb, path: {_dir.File("w.duckdb")} }}", extension: ".csv.gz");
        var file = DealersTenant.TenantFile(root);

        var e = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(root, "acme"));

        Assert.Equal([$"{file}: {expected}"], e.Errors);
    }
}
