namespace EtlStream.Tests.Support;

/// <summary>A configs folder with the shipped dealers schema and one tenant, <c>acme</c>, whose morning job loads dealers.</summary>
internal static class DealersTenant
{
    /// <summary>Writes <paramref name="root"/> (created if missing) and returns it; <paramref name="source"/> and <paramref name="sink"/> are the YAML of those sections.</summary>
    public static string Write(string root, string source, string sink, string mode = "append", string extension = ".csv")
    {
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        File.Copy(Path.Combine(RepoPaths.Root, "configs", "schemas", "dealers.yaml"), Path.Combine(root, "schemas", "dealers.yaml"), overwrite: true);
        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(TenantFile(root), $$"""
            tenant: acme
            database: datawiz_acme
            source: {{source}}
            sink: {{sink}}
            tables:
              dealers: { schema: dealers, files: "dealers_{date}{{extension}}" }
            jobs:
              morning:
                steps:
                  - { name: d, tables: [dealers], mode: {{mode}} }
            """);
        return root;
    }

    /// <summary>The tenant's tenant.yaml, as errors name it.</summary>
    public static string TenantFile(string root) => Path.Combine(root, "tenants", "acme", "tenant.yaml");
}
