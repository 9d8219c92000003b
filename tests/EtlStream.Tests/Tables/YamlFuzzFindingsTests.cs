using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Tables;

/// <summary>
/// What the yaml fuzz target (perf/EtlStream.Fuzz, FUZZ_TARGET=yaml) found, kept as cases: aliases that make the node
/// graph a cycle (stack overflow, or a hang), and inputs on which YamlDotNet throws other than YamlException. Each must
/// be refused as a config error naming the file, as a spec and as a tenant.yaml.
/// </summary>
public sealed class YamlFuzzFindingsTests : IDisposable
{
    private static readonly string Folder = Path.Combine(RepoPaths.Root, "tests", "EtlStream.Tests", "Tables", "FuzzFindings");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Findings() => new(Directory.GetFiles(Folder, "yaml-*.yaml").Order().Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Findings))]
    public async Task Each_finding_is_a_config_error_naming_the_file(string finding)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(Folder, finding));

        var spec = await Assert.ThrowsAsync<ConfigException>(() => Task.Run(() => TableSpecReader.Read(text, finding)).WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.All(spec.Errors, e => Assert.StartsWith(finding, e, StringComparison.Ordinal));

        var root = _dir.File("configs");
        var tenant = Path.Combine(root, "tenants", "fuzz");
        Directory.CreateDirectory(tenant);
        await File.WriteAllTextAsync(Path.Combine(tenant, "tenant.yaml"), text);
        var (tenants, errors) = await Task.Run(() => (TenantConfigReader.ReadAll(root, out var e), e)).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Empty(tenants);
        Assert.NotEmpty(errors);
    }
}
