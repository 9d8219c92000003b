using EtlStream.Sources.Local;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sources;

/// <summary>Links below an input folder: the listing never leaves the folder, never lists a file twice, never loops.</summary>
public sealed class LocalFileSourceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public LocalFileSourceTests()
    {
        Directory.CreateDirectory(_dir.File("in/sub"));
        Directory.CreateDirectory(_dir.File("outside"));
        File.WriteAllText(_dir.File("in/one.csv"), "a\n1\n");
        File.WriteAllText(_dir.File("in/sub/two.csv"), "a\n2\n");
        File.WriteAllText(_dir.File("outside/secret.csv"), "a\nsecret\n");
        File.CreateSymbolicLink(_dir.File("in/ext"), "../outside");          // a folder outside
        File.CreateSymbolicLink(_dir.File("in/sub/loop"), "..");             // a folder inside: a loop
        File.CreateSymbolicLink(_dir.File("in/secret.csv"), _dir.File("outside/secret.csv"));
        File.CreateSymbolicLink(_dir.File("in/latest.csv"), "sub/two.csv");  // a file inside
        File.CreateSymbolicLink(_dir.File("in/broken.csv"), "nowhere.csv");
    }

    public void Dispose() => _dir.Dispose();

    private string[] Warnings(string shown) =>
    [
        $"{shown}/broken.csv: not read: a broken or looping link (nowhere.csv)",
        $"{shown}/ext: not read: a link to a folder ({_dir.File("outside")}); links to folders are not followed",
        $"{shown}/secret.csv: not read: a link to {_dir.File("outside/secret.csv")}, outside {shown}",
        $"{shown}/sub/loop: not read: a link to a folder ({_dir.File("in")}); links to folders are not followed",
    ];

    [Fact]
    public void A_folder_lists_its_files_and_links_to_files_inside_it_and_warns_about_every_other_link()
    {
        var logger = new ListLogger();
        var files = LocalFileSource.List(_dir.File("in"), logger);

        Assert.Equal([_dir.File("in/latest.csv"), _dir.File("in/one.csv"), _dir.File("in/sub/two.csv")], files.Select(f => f.Name));
        Assert.Equal(Warnings(_dir.File("in")), logger.Messages.Order(StringComparer.Ordinal));
        Assert.Equal(4, files[0].Length); // a link's size is its file's, not its target's name
    }

    [Fact]
    public void A_glob_applies_the_same_rules()
    {
        var logger = new ListLogger();
        var files = LocalFileSource.List(_dir.File("in/**/*.csv"), logger);

        Assert.Equal([_dir.File("in/latest.csv"), _dir.File("in/one.csv"), _dir.File("in/sub/two.csv")], files.Select(f => f.Name));
        Assert.Equal(Warnings(_dir.File("in")), logger.Messages.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_tenant_folder_store_applies_the_same_rules()
    {
        var logger = new ListLogger();
        var files = await new LocalFolderStore(_dir.File("in"), logger).ListAsync("**", null, default);

        Assert.Equal([_dir.File("in/latest.csv"), _dir.File("in/one.csv"), _dir.File("in/sub/two.csv")], files.Select(f => f.Name));
        Assert.Equal(Warnings(_dir.File("in")), logger.Messages.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_link_named_as_the_input_is_followed()
    {
        var files = LocalFileSource.List(_dir.File("in/ext"));
        Assert.Equal([_dir.File("in/ext/secret.csv")], files.Select(f => f.Name));
    }
}
