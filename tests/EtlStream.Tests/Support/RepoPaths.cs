namespace EtlStream.Tests.Support;

/// <summary>Finds the repository root from the test binary's folder, so tests can use shipped files.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EtlStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("cannot find EtlStream.sln above " + AppContext.BaseDirectory);
    }
}
