{
  "variables": {
    "with_dnnl%": 1,
    "dnnl_include%": "",
    "dnnl_lib%": ""
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": [
      "NAPI_VERSION=8",
      "NODE_ADDON_API_CPP_EXCEPTIONS",
      "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"
    ],
    "cflags!": ["-fno-exceptions", "-O2"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
    "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions", "-frtti", "-fno-math-errno", "-fno-trapping-math"],
    "libraries": ["-fopenmp"]
  },
  "targets": [
    {
      "target_name": "tfjs_portable",
      "sources": [
        "native/addon.cc",
        "native/conv.cc",
        "native/conv_portable.cc",
        "native/gemm_portable.cc",
        "native/pool.cc",
        "native/matmul.cc",
        "native/eltwise.cc",
        "native/reduce.cc",
        "native/norm.cc"
      ],
      "cflags_cc": ["-ffp-contract=fast"]
    }
  ],
  "conditions": [
    ["with_dnnl==1", {
      "targets": [
        {
          "target_name": "tfjs_onednn",
          "sources": [
            "native/addon.cc",
            "native/conv.cc",
            "native/conv_dnnl.cc",
            "native/gemm_dnnl.cc",
            "native/pool.cc",
            "native/matmul.cc",
            "native/eltwise.cc",
            "native/reduce.cc",
            "native/norm.cc"
          ],
          "defines": ["TFJS_WITH_DNNL"],
          "libraries": ["-ldnnl"],
          "conditions": [
            ["dnnl_include!=''", {"include_dirs": ["<(dnnl_include)"]}],
            ["dnnl_lib!=''", {"ldflags": ["-L<(dnnl_lib)", "-Wl,-rpath,<(dnnl_lib)"]}]
          ]
        }
      ]
    }]
  ]
}
